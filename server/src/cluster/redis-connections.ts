import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/**
 * The Redis clients of one cluster node, each with an `error` listener (an
 * unhandled `error` event would crash the process):
 * - `store`: commands fail at once while Redis is down (no offline queue, one
 *   retry, a command timeout), so a request answers 503 rather than hanging;
 * - `pub`/`sub`: the adapter's pair. `pub` keeps an offline queue with no retry
 *   limit, so packets sent during a short outage go out when Redis returns
 *   instead of rejecting unhandled inside the adapter; ioredis resubscribes `sub`
 *   after a reconnect.
 */
export class RedisConnections {
  readonly store: Redis;
  readonly pub: Redis;
  readonly sub: Redis;

  constructor(url: string, log: Logger, opts: { commandTimeoutMs?: number } = {}) {
    const base: RedisOptions = {
      lazyConnect: false,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    };
    this.store = new Redis(url, { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: opts.commandTimeoutMs ?? 2000, connectionName: 'herald-store' });
    this.pub = new Redis(url, { ...base, maxRetriesPerRequest: null, connectionName: 'herald-pub' });
    this.sub = new Redis(url, { ...base, maxRetriesPerRequest: null, connectionName: 'herald-sub' });
    // The adapter sends these and never looks at the promise they return: one that rejects
    // (a PUBLISH after the clients closed, while a late delivery still goes out) would reach the
    // process as an unhandled rejection. Each is observed here; the adapter's packet is lost either way.
    for (const client of [this.pub, this.sub]) {
      ownPromises(client, ['publish', 'subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe'], (command, err) =>
        log.debug({ command, err: err.message }, 'redis command of the adapter failed'),
      );
    }
    for (const [name, client] of Object.entries({ store: this.store, pub: this.pub, sub: this.sub })) {
      let down = false;
      client.on('error', (err: Error) => {
        if (!down) log.warn({ client: name, err: err.message }, 'redis connection error');
        down = true;
      });
      client.on('ready', () => {
        if (down) log.info({ client: name }, 'redis connection back');
        down = false;
      });
    }
  }

  /** Resolves once every client is connected (or rejects after `ms`). */
  async ready(ms = 5000): Promise<void> {
    const wait = (client: Redis) =>
      client.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`redis not ready within ${ms} ms`)), ms);
            client.once('ready', () => {
              clearTimeout(timer);
              resolve();
            });
          });
    await Promise.all([wait(this.store), wait(this.pub), wait(this.sub)]);
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.store, this.pub, this.sub].map((client) =>
        client.status === 'ready' ? client.quit().then(() => undefined, () => client.disconnect()) : client.disconnect(),
      ),
    );
  }
}

/**
 * Makes `client` observe the promise of each of `commands` (as an own property
 * over ioredis' prototype method): the caller still gets the same promise, and a
 * rejection nobody else awaits is reported to `failed` instead of the process.
 */
function ownPromises(client: Redis, commands: readonly string[], failed: (command: string, err: Error) => void): void {
  const methods = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const command of commands) {
    const original = methods[command]!.bind(client);
    methods[command] = (...args: unknown[]) => {
      const result = original(...args);
      if (result instanceof Promise) result.catch((err: Error) => failed(command, err));
      return result;
    };
  }
}
