/**
 * The AsyncAPI 3.0 document of Herald's Socket.IO events, generated from the
 * table of event-schemas.ts: one channel per namespace, one operation per
 * event (Herald `send`s what it emits and `receive`s what clients emit, with
 * the acknowledgement as the reply), payloads as JSON Schema from the zod
 * schemas. Served at `/api/asyncapi.json`.
 */
import { z } from 'zod';
import { ADMIN_EVENTS, NESTED_SCHEMAS, USER_EVENTS, type EventSchema } from './event-schemas.js';

export interface AsyncApiOptions {
  /** `host:port` clients connect to. */
  host: string;
  /** `ws` or `wss`. */
  protocol: 'ws' | 'wss';
  version: string;
}

type Json = Record<string, unknown>;

const NAMESPACES = {
  user: { address: '/', events: USER_EVENTS, description: 'The user namespace (SPEC §5): every socket of a user is in `user:<id>`, and in `topic:<name>` for each subscription' },
  admin: { address: '/admin', events: ADMIN_EVENTS, description: 'The admin namespace (SPEC §6), for tokens with `admin` or `admin:read`' },
} as const;

/** `auth:refresh` → `authRefresh`, as AsyncAPI ids must be. */
const idOf = (event: string) => event.replace(/[^A-Za-z0-9]+(.)/g, (_, c: string) => c.toUpperCase());

/** Every schema with an id (`.meta({ id })`) among the payloads and acks, as JSON Schema with references between them. */
function componentSchemas(): Json {
  const registry = z.registry<{ id: string }>();
  const add = (schema: z.ZodType, fallback: string) => {
    if (!registry.has(schema)) registry.add(schema, { id: idOfSchema(schema, fallback) });
  };
  for (const [name, { events }] of Object.entries(NAMESPACES)) {
    for (const [event, spec] of Object.entries(events) as [string, EventSchema][]) {
      add(spec.payload, messageId(name, event));
      if (spec.ack) add(spec.ack, `${messageId(name, event)}Ack`);
    }
  }
  // The nested ones too, so that they are referenced rather than copied (or left dangling).
  for (const schema of NESTED_SCHEMAS) add(schema, 'unnamed');
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-7', unrepresentable: 'any', io: 'output', uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => {
    const { $schema: _schema, $id: _id, ...rest } = schema as Json;
    return [id, rest];
  }));
}

/** A schema's own id, else the name of the message it is the payload of. */
const idOfSchema = (schema: z.ZodType, fallback: string): string => {
  const id = z.globalRegistry.get(schema)?.id;
  return typeof id === 'string' ? id : fallback;
};
const schemaRef = (schema: z.ZodType, fallback: string): Json => ({ $ref: `#/components/schemas/${idOfSchema(schema, fallback)}` });
const messageId = (namespace: string, event: string) => `${namespace}${idOf(`-${event}`)}`;

/** Channels, operations and components: the same for every request, so built once, on first use. */
let events: { channels: Json; operations: Json; components: Json } | undefined;

function buildEvents(): { channels: Json; operations: Json; components: Json } {
  const channels: Json = {};
  const operations: Json = {};
  const messages: Json = {};
  for (const [name, ns] of Object.entries(NAMESPACES)) {
    const own: Json = {};
    for (const [event, spec] of Object.entries(ns.events) as [string, EventSchema][]) {
      const id = messageId(name, event);
      messages[id] = { name: event, title: event, summary: spec.summary, payload: schemaRef(spec.payload, id) };
      own[idOf(event)] = { $ref: `#/components/messages/${id}` };
      const operation: Json = {
        action: spec.from === 'server' ? 'send' : 'receive',
        channel: { $ref: `#/channels/${name}` },
        summary: spec.summary,
        messages: [{ $ref: `#/channels/${name}/messages/${idOf(event)}` }],
      };
      if (spec.ack) {
        const ackId = `${id}Ack`;
        messages[ackId] = { name: `${event} ack`, title: `The acknowledgement of ${event}`, payload: schemaRef(spec.ack, ackId) };
        own[`${idOf(event)}Ack`] = { $ref: `#/components/messages/${ackId}` };
        operation.reply = { channel: { $ref: `#/channels/${name}` }, messages: [{ $ref: `#/channels/${name}/messages/${idOf(event)}Ack` }] };
      }
      operations[id] = operation;
    }
    channels[name] = { address: ns.address, description: ns.description, messages: own };
  }
  return { channels, operations, components: { messages, schemas: componentSchemas() } };
}

/**
 * The document for a client that reached Herald at `opts.host`; only `servers`
 * differs from one request to the next.
 *
 * @example
 * app.get('/api/asyncapi.json', (req, res) => res.json(buildAsyncApiDocument({ host: req.get('host')!, protocol: 'ws', version: '0.1.0' })));
 */
export function buildAsyncApiDocument(opts: AsyncApiOptions): Json {
  events ??= buildEvents();
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Herald socket events',
      version: opts.version,
      description:
        'The Socket.IO events of Herald (socket.io 4): connect with `auth: { token, lastSeq }`; requests carry an acknowledgement. ' +
        'REST is in `/api/openapi.json`, rendered at [/api/docs](../).',
      license: { name: 'UNLICENSED' },
    },
    defaultContentType: 'application/json',
    servers: {
      herald: {
        host: opts.host,
        protocol: opts.protocol,
        pathname: '/socket.io/',
        description: 'Socket.IO over WebSocket (or HTTP long-polling) on the node or load balancer that served this document',
      },
    },
    ...events,
  };
}
