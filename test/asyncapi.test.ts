import { Parser } from '@asyncapi/parser';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EVENTS, adminReadyPayloadSchema, readyPayloadSchema, USER_EVENTS } from '../protocol/event-schemas.js';
import { notificationSchema } from '../protocol/responses.js';
import { startServer, type TestServer } from './helpers.js';

interface Document {
  asyncapi: string;
  servers: Record<string, { host: string; protocol: string }>;
  channels: Record<string, { address: string }>;
  operations: Record<string, { action: 'send' | 'receive'; messages: { $ref: string }[]; reply?: unknown }>;
  components: { messages: Record<string, { name: string }> };
}

describe('the AsyncAPI document of the socket events', () => {
  let server: TestServer;
  let doc: Document;

  beforeAll(async () => {
    server = await startServer();
    const res = await server.request('GET', '/api/asyncapi.json');
    expect(res.status).toBe(200);
    doc = (await res.json()) as Document;
  });
  afterAll(async () => {
    await server.close();
  });

  it('is rendered at /api/docs/asyncapi by the AsyncAPI viewer, whose files are served beside the page', async () => {
    for (const route of ['/api/docs/asyncapi', '/api/docs/asyncapi/']) {
      const page = await server.request('GET', route);
      expect(page.status, route).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await page.text();
      const base = new URL(/<base href="([^"]+)">/.exec(html)?.[1] ?? '', server.url + route);
      for (const [asset, type] of [['index.js', /javascript/], ['default.min.css', /^text\/css/]] as const) {
        expect(html).toContain(asset);
        const res = await fetch(new URL(asset, base));
        expect(res.status, `${route}: ${asset}`).toBe(200);
        expect(res.headers.get('content-type')).toMatch(type);
      }
      expect(new URL('../../asyncapi.json', base).pathname).toBe('/api/asyncapi.json');
    }
  });

  it('is valid AsyncAPI 3.0 for @asyncapi/parser, with no error or warning', async () => {
    expect(doc.asyncapi).toBe('3.0.0');
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    // Severity 0 is an error, 1 a warning (2, information: a newer AsyncAPI version exists).
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document).toBeDefined();
  });

  it('names the server the client reached, and a channel per namespace', () => {
    expect(doc.servers.herald).toMatchObject({ host: new URL(server.url).host, protocol: 'ws' });
    expect(Object.values(doc.channels).map((c) => c.address).sort()).toEqual(['/', '/admin']);
  });

  it('has an operation for every event of both namespaces: Herald sends its own and receives the clients’, with the ack as reply', () => {
    for (const [namespace, events] of [['user', USER_EVENTS], ['admin', ADMIN_EVENTS]] as const) {
      const expected = Object.entries(events).map(([event, spec]) => `${event} ${spec.from === 'server' ? 'send' : 'receive'}${'ack' in spec ? ' with reply' : ''}`);
      // Each operation is named like its message.
      const found = Object.entries(doc.operations)
        .filter(([id]) => id.startsWith(namespace))
        .map(([id, op]) => `${doc.components.messages[id]!.name} ${op.action}${op.reply === undefined ? '' : ' with reply'}`);
      expect(found.sort(), namespace).toEqual(expected.sort());
    }
  });

  it('describes what a real socket receives: ready, a notification and the ack of sync', async () => {
    const { socket, ready } = await server.connect('ann', { lastSeq: 0 });
    try {
      expect(readyPayloadSchema.safeParse(ready).error).toBeUndefined();
      const live = new Promise((resolve) => socket.once('notification', resolve));
      const publisher = server.token('svc', { roles: ['publisher'] });
      await server.request('POST', '/api/notifications', { token: publisher, body: { to: { user: 'ann' }, title: 'Hi', data: { n: 1 } } });
      expect(notificationSchema.safeParse(await live).error).toBeUndefined();
      const ack = await socket.emitWithAck('sync', { afterSeq: 0 });
      expect(USER_EVENTS.sync.ack.safeParse(ack).error).toBeUndefined();
      const refused = await socket.emitWithAck('sync', { afterSeq: -1 } as never);
      expect(refused.ok).toBe(false);
      expect(USER_EVENTS.sync.ack.safeParse(refused).error).toBeUndefined();
    } finally {
      socket.close();
    }
    const admin = io(`${server.url}/admin`, { transports: ['websocket'], auth: { token: server.token('root', { roles: ['admin'] }) }, forceNew: true });
    try {
      const adminReady = await new Promise((resolve) => admin.once('ready', resolve));
      expect(adminReadyPayloadSchema.safeParse(adminReady).error).toBeUndefined();
    } finally {
      admin.close();
    }
  });
});
