/**
 * The requests of the REST API and of the socket events (SPEC §4, §5) as zod
 * schemas: the server validates with them, the API documents are generated
 * from them, and a client can check what it sends before sending it.
 */
import { z } from 'zod';
import { TOPIC_PATTERN } from './rooms.js';

const utf8 = new TextEncoder();

export const MAX_DATA_BYTES = 16 * 1024;
export const MAX_DATA_DEPTH = 32;
export const MAX_USERS_PER_REQUEST = 1000;
export const MAX_BATCH = 100;

export const userIdSchema = z.string().min(1).max(128);
export const topicSchema = z.string().regex(TOPIC_PATTERN, 'must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$');

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function depthOf(value: unknown, limit: number, depth = 1): number {
  if (depth > limit || typeof value !== 'object' || value === null) return depth;
  let max = depth;
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) max = Math.max(max, depthOf(child, limit, depth + 1));
    if (max > limit) break;
  }
  return max;
}

/**
 * `data` is kept as the caller's own object (not copied key by key), so a key
 * such as `__proto__` stays a plain own property and reaches recipients as sent.
 */
export const dataSchema = z
  .custom<Record<string, unknown>>(isPlainObject, { message: 'must be a JSON object' })
  .superRefine((value, ctx) => {
    if (depthOf(value, MAX_DATA_DEPTH) > MAX_DATA_DEPTH) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_DATA_DEPTH} levels deep` });
      return;
    }
    if (utf8.encode(JSON.stringify(value)).byteLength > MAX_DATA_BYTES) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_DATA_BYTES} bytes serialized` });
    }
  })
  .meta({ description: 'Any JSON object, at most 16 KiB serialized and 32 levels deep', type: 'object' });

export const targetSchema = z.union([
  z.strictObject({ user: userIdSchema }),
  z.strictObject({ users: z.array(userIdSchema).min(1).max(MAX_USERS_PER_REQUEST) }),
  z.strictObject({ topic: topicSchema }),
  z.strictObject({ all: z.literal(true) }),
]);
export type Target = z.infer<typeof targetSchema>;

export const notificationContentSchema = z.strictObject({
  type: z.string().regex(/^[a-z0-9._-]{1,64}$/, 'must match ^[a-z0-9._-]{1,64}$').default('message'),
  title: z.string().min(1).max(200),
  body: z.string().max(4000).optional(),
  data: dataSchema.optional(),
});

export const publishRequestSchema = notificationContentSchema.extend({ to: targetSchema }).meta({ id: 'PublishRequest' });
export type PublishRequest = z.infer<typeof publishRequestSchema>;
/** A publish request as a client sends it (`type` may be left out). */
export type PublishInput = z.input<typeof publishRequestSchema>;

export const batchRequestSchema = z
  .strictObject({
    notifications: z.array(z.unknown()).min(1).max(MAX_BATCH),
  })
  .meta({ id: 'BatchRequest' });
/** A batch whose envelope is valid; each item is checked on its own. */
export type BatchRequest = z.infer<typeof batchRequestSchema>;

export const subscriptionRequestSchema = z.strictObject({ topic: z.string().max(256) }).meta({ id: 'SubscriptionRequest' });

/**
 * How long an `Idempotency-Key` holds (SPEC §4): a replay within it gets the
 * first response and delivers nothing again. The one value of it: the service
 * reads records no older, and the stores keep them and prune them by it.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** The window as the API documents say it. */
export const IDEMPOTENCY_WINDOW = `${IDEMPOTENCY_TTL_MS / 3_600_000} h`;
export const idempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters');

export const MAX_PAGE = 100;
/** A `seq` in a query string: digits only (an empty or blank value is an error, not 0). */
const seqQuerySchema = z
  .string()
  .regex(/^\d{1,16}$/, 'must be a non-negative integer')
  .transform(Number)
  .meta({ type: 'integer', minimum: 0, description: 'a seq from an earlier answer' });
const seqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const feedQuerySchema = z.object({
  before: seqQuerySchema.optional(),
  after: seqQuerySchema.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50),
  unread: z.enum(['true', 'false']).optional().transform((v) => v === 'true'),
});
export type FeedQueryInput = z.infer<typeof feedQuerySchema>;

export const readRequestSchema = z
  .union([z.strictObject({ ids: z.array(z.string().min(1).max(64)).min(1).max(1000) }), z.strictObject({ all: z.literal(true) })])
  .meta({ id: 'ReadRequest' });
export type ReadRequest = z.infer<typeof readRequestSchema>;

export const syncRequestSchema = z
  .strictObject({
    afterSeq: seqSchema,
    limit: z.number().int().min(1).max(MAX_PAGE).optional(),
  })
  .meta({ id: 'SyncRequest' });

const adminLimit = z.coerce.number().int().min(1).max(500).default(50);
const adminCursor = z.string().max(512).regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor returned by the previous page').optional();

/** `GET /api/admin/rooms`. */
export const roomsQuerySchema = z.object({ prefix: z.string().max(140).optional(), limit: adminLimit, cursor: adminCursor });
/** `GET /api/admin/connections`. */
export const connectionsQuerySchema = z.object({
  user: userIdSchema.optional(),
  room: z.string().min(1).max(140).optional(),
  node: z.string().min(1).max(256).optional(),
  limit: adminLimit,
  cursor: adminCursor,
});
