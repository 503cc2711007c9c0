import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

/**
 * Every environment variable Herald reads, with its default. Parsed once at boot
 * by {@link loadConfig}; the result is frozen and passed down.
 */
const envSchema = z
  .object({
    NODE_ENV: z.string().default('development'),
    /** @default 3000 */
    PORT: int(0, 65535).default(3000),
    /** @default "0.0.0.0" */
    HOST: z.string().min(1).default('0.0.0.0'),
    /** @default "./data" */
    DATA_DIR: z.string().min(1).default('./data'),
    REDIS_URL: optionalString,
    NODE_ID: optionalString,
    CORS_ORIGINS: optionalString,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    METRICS_TOKEN: optionalString,
    JWT_SECRET: optionalString,
    JWT_ALGORITHM: z.enum(['HS256', 'RS256', 'ES256']).default('HS256'),
    JWT_PUBLIC_KEY: optionalString,
    JWT_ISSUER: optionalString,
    JWT_AUDIENCE: optionalString,
    /** @default 30 */
    RETENTION_DAYS: z.coerce.number().positive().default(30),
    /** @default 10000 */
    RETENTION_PER_STREAM: int(1).default(10_000),
    /** How often the retention job runs. @default 60000 */
    RETENTION_INTERVAL_MS: int(10).default(60_000),
    /** @default 65536 */
    MAX_BODY_BYTES: int(1024).default(64 * 1024),
    /** @default 65536 */
    MAX_SOCKET_PAYLOAD: int(1024).default(64 * 1024),
    /** @default 20 */
    SOCKET_EVENTS_PER_SEC: z.coerce.number().positive().default(20),
    /** @default 40 */
    SOCKET_EVENTS_BURST: int(1).default(40),
    /** @default 20 */
    MAX_CONNECTIONS_PER_USER: int(1).default(20),
    /** REST requests per second per caller (0 turns the limit off). @default 2000 */
    API_RATE_PER_SEC: z.coerce.number().min(0).default(2000),
    /** @default 4000 */
    API_RATE_BURST: int(1).default(4000),
    /** @default 1000 */
    ADMIN_STATS_INTERVAL_MS: int(50).default(1000),
    /** Cross-node request timeout of the cluster adapter. @default 5000 */
    REDIS_REQUESTS_TIMEOUT_MS: int(100).default(5000),
    /** How often a cluster node writes its heartbeat. @default 1000 */
    NODE_HEARTBEAT_MS: int(50).default(1000),
    /** A node whose heartbeat is older than this is dead: no longer counted. @default 5000 */
    NODE_TIMEOUT_MS: int(200).default(5000),
    /** How long SIGTERM waits for sockets and the store before exiting. @default 10000 */
    SHUTDOWN_TIMEOUT_MS: int(100).default(10_000),
    /** Public URL used in the start-up admin link. @default http://localhost:PORT */
    PUBLIC_URL: optionalString,
    /** Unsent output a socket may hold before its transport is closed (SPEC §8). @default 1048576 */
    MAX_SOCKET_BUFFER_BYTES: int(16 * 1024).default(1024 * 1024),
    /** New Engine.IO handshakes per second, with bursts of twice that (0 turns the limit off). @default 1000 */
    MAX_HANDSHAKES_PER_SEC: z.coerce.number().min(0).default(1000),
    /** Event-loop lag past which new handshakes and publishes are refused with 503 (0 turns it off). @default 250 */
    OVERLOAD_LAG_MS: int(0).default(250),
    /** How long SIGTERM spreads the closing of this node's transports over, before the store is closed. @default 10000 */
    DRAIN_MS: int(0).default(10_000),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_TIMEOUT_MS <= env.NODE_HEARTBEAT_MS * 2) {
      ctx.addIssue({ code: 'custom', path: ['NODE_TIMEOUT_MS'], message: 'must be more than twice NODE_HEARTBEAT_MS' });
    }
    if (env.JWT_ALGORITHM !== 'HS256' && !env.JWT_PUBLIC_KEY) {
      ctx.addIssue({ code: 'custom', path: ['JWT_PUBLIC_KEY'], message: `is required when JWT_ALGORITHM is ${env.JWT_ALGORITHM}` });
    }
    if (env.JWT_ALGORITHM === 'HS256' && env.JWT_SECRET !== undefined && env.JWT_SECRET.length < 32) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'must be at least 32 characters for HS256' });
    }
    if (env.NODE_ENV === 'production' && env.JWT_ALGORITHM === 'HS256' && !env.JWT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required when NODE_ENV=production' });
    }
  });

export interface HeraldConfig {
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  readonly nodeId: string;
  /** Allowed browser origins; `undefined` means the server's own origin only. */
  readonly corsOrigins: readonly string[] | undefined;
  readonly logLevel: string;
  readonly metricsToken: string | undefined;
  readonly jwt: {
    readonly algorithm: 'HS256' | 'RS256' | 'ES256';
    /** HS256 secret; `undefined` outside production means "use the development secret". */
    readonly secret: string | undefined;
    readonly publicKey: string | undefined;
    readonly issuer: string | undefined;
    readonly audience: string | undefined;
  };
  readonly retention: { readonly days: number; readonly perStream: number; readonly intervalMs: number };
  readonly maxBodyBytes: number;
  readonly maxSocketPayload: number;
  readonly socketEventsPerSec: number;
  readonly socketEventsBurst: number;
  readonly maxConnectionsPerUser: number;
  readonly apiRatePerSec: number;
  readonly apiRateBurst: number;
  readonly adminStatsIntervalMs: number;
  readonly redisRequestsTimeoutMs: number;
  readonly nodeHeartbeatMs: number;
  readonly nodeTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly publicUrl: string | undefined;
  /** SPEC §8: the limits that keep a node up whatever its clients do. */
  readonly edge: {
    readonly maxSocketBufferBytes: number;
    /** 0: no limit. The burst is twice the rate. */
    readonly maxHandshakesPerSec: number;
    /** 0: never overloaded. */
    readonly overloadLagMs: number;
    readonly drainMs: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses and validates the environment once. Throws a {@link ConfigError} whose
 * message is one line naming the first bad variable.
 *
 * @example
 * const config = loadConfig({ ...process.env, PORT: '0' });
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): HeraldConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message}`);
  }
  const e = parsed.data;
  const config: HeraldConfig = {
    production: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    redisUrl: e.REDIS_URL,
    nodeId: e.NODE_ID ?? `${hostname()}-${process.pid}`,
    corsOrigins: e.CORS_ORIGINS?.split(',').map((o) => o.trim()).filter(Boolean),
    logLevel: e.LOG_LEVEL,
    metricsToken: e.METRICS_TOKEN,
    jwt: {
      algorithm: e.JWT_ALGORITHM,
      secret: e.JWT_SECRET,
      publicKey: e.JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
    },
    retention: { days: e.RETENTION_DAYS, perStream: e.RETENTION_PER_STREAM, intervalMs: e.RETENTION_INTERVAL_MS },
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxSocketPayload: e.MAX_SOCKET_PAYLOAD,
    socketEventsPerSec: e.SOCKET_EVENTS_PER_SEC,
    socketEventsBurst: e.SOCKET_EVENTS_BURST,
    maxConnectionsPerUser: e.MAX_CONNECTIONS_PER_USER,
    apiRatePerSec: e.API_RATE_PER_SEC,
    apiRateBurst: e.API_RATE_BURST,
    adminStatsIntervalMs: e.ADMIN_STATS_INTERVAL_MS,
    redisRequestsTimeoutMs: e.REDIS_REQUESTS_TIMEOUT_MS,
    nodeHeartbeatMs: e.NODE_HEARTBEAT_MS,
    nodeTimeoutMs: e.NODE_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    publicUrl: e.PUBLIC_URL,
    edge: {
      maxSocketBufferBytes: e.MAX_SOCKET_BUFFER_BYTES,
      maxHandshakesPerSec: e.MAX_HANDSHAKES_PER_SEC,
      overloadLagMs: e.OVERLOAD_LAG_MS,
      drainMs: e.DRAIN_MS,
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}
