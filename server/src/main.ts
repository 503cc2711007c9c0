import type { AddressInfo } from 'node:net';
import { signToken } from './auth/token-verifier.js';
import { ConfigError, loadConfig, type HeraldConfig } from './config.js';
import { StartupError } from './errors.js';
import { createHerald } from './herald.js';

/** Pending TCP connections the kernel keeps for Herald to accept. */
const LISTEN_BACKLOG = 1024;

/** The entry point: parse the configuration, build Herald, listen, stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: HeraldConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`herald: ${err.message}\n`);
    process.exit(1);
  }
  let herald: Awaited<ReturnType<typeof createHerald>>;
  try {
    herald = await createHerald(config);
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    process.stderr.write(`herald: ${(err as Error).message}\n`);
    process.exit(1);
  }
  await new Promise<void>((resolve, reject) => {
    herald.http.once('error', reject);
    // A reconnect storm brings thousands of connections in the same instant: with Node's default
    // backlog of 511 the kernel drops the SYNs beyond it, and those clients wait out TCP's
    // retransmission (1 s, 3 s, 7 s…) before they are even seen. The kernel caps it at somaxconn.
    herald.http.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, resolve);
  });
  const { port } = herald.http.address() as AddressInfo;
  const base = config.publicUrl ?? `http://localhost:${port}`;
  herald.log.info({ port, node: config.nodeId, dataDir: config.dataDir }, 'listening');
  const secret = config.jwt.secret ?? herald.devSecret;
  if (config.jwt.algorithm === 'HS256' && secret && !config.production) {
    const token = signToken(secret, { sub: 'admin', roles: ['admin'], expiresIn: 12 * 3600 }, config.jwt);
    process.stdout.write(`\nHerald is running on ${base}\n  Admin UI (link valid 12 h): ${base}/admin/#token=${token}\n  API docs: ${base}/api/docs\n\n`);
  } else {
    process.stdout.write(`\nHerald is running on ${base}\n  Admin UI: ${base}/admin/ (sign in with an admin token)\n  API docs: ${base}/api/docs\n\n`);
  }

  let stopping = false;
  /** SIGTERM drains first (SPEC §8); SIGINT (Ctrl+C at a terminal) closes at once. */
  const stop = (signal: 'SIGTERM' | 'SIGINT') => {
    if (stopping) return;
    stopping = true;
    herald.log.info({ signal }, signal === 'SIGTERM' ? 'draining, then shutting down' : 'shutting down');
    const drainMs = signal === 'SIGTERM' ? config.edge.drainMs : 0;
    const timer = setTimeout(() => process.exit(1), drainMs + config.shutdownTimeoutMs + 2000);
    timer.unref();
    (signal === 'SIGTERM' ? herald.drain() : Promise.resolve())
      .then(() => herald.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          herald.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  // A library promise that rejects unobserved must not take the node and every
  // socket on it down in production: it is counted and logged loudly. Under
  // NODE_ENV=test it ends the process, so that a test cannot pass over one.
  process.on('unhandledRejection', (err) => {
    herald.metrics.unhandledRejection();
    herald.log.error({ err }, 'unhandled promise rejection');
    if (process.env.NODE_ENV === 'test') {
      process.stderr.write(`herald: unhandled promise rejection under NODE_ENV=test: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(70);
    }
  });
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
