import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

/** A redis-server child process on loopback, for one test file. */
export interface RedisProcess {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /**
   * Kills the server by its PID and waits for it to exit. Removes its folder
   * unless `keepData` (then {@link RedisProcess.start} brings the same data back,
   * when the server is persistent).
   */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Starts the server again on the same port (after `stop`), on its kept folder if any. */
  start(): Promise<void>;
  /** Stops and starts on the same port: empty afterwards, unless persistent. */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** Append-only file with an fsync per write, so that data survives a stop and start. @default false */
  persistent?: boolean;
}

const BINARY = existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server';
const START_TIMEOUT_MS = 10_000;


/** Resolves true when something on `port` answers PING with PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

interface Running {
  child: ChildProcess;
  dir: string;
  exited: Promise<void>;
}

/** Spawns redis-server on `port` with its files in `dir`; resolves once it answers PING, rejects with its output if it dies first. */
async function spawnRedis(port: number, dir: string, persistent: boolean): Promise<Running> {
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--dir', dir];
  args.push(...(persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  args.push('--pidfile', path.join(dir, 'redis.pid'), '--daemonize', 'no');
  const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let failure: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      failure =
        err.code === 'ENOENT'
          ? new Error('redis-server is not installed: run `apt-get install -y redis-server` (Debian) to run the Redis tests')
          : err;
      resolve();
    });
    child.once('exit', (code, signal) => {
      failure ??= new Error(`redis-server exited (${signal ?? code}) before answering PING:\n${output.trim()}`);
      resolve();
    });
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!failure) {
    if (await answersPing(port)) return { child, dir, exited };
    if (Date.now() > deadline) {
      await stopRunning({ child, dir, exited }, true);
      throw new Error(`redis-server did not answer PING on port ${port} within ${START_TIMEOUT_MS} ms:\n${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw failure;
}

/** Kills by PID (SIGTERM, then SIGKILL after 5 s), waits for the exit; removes the folder unless `keepData`. */
async function stopRunning({ child, dir, exited }: Running, keepData: boolean): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  if (!keepData) rmSync(dir, { recursive: true, force: true });
}

const newDir = () => mkdtempSync(path.join(tmpdir(), 'herald-redis-'));

/**
 * Starts Debian's redis-server on a free loopback port, in a fresh temporary
 * folder, with nothing saved unless `persistent`.
 *
 * @example
 * const redis = await startRedis();
 * const client = new Redis(redis.url);
 * // …
 * await redis.stop();
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisProcess> {
  const persistent = opts.persistent ?? false;
  let port = 0;
  let current: Running | undefined;
  for (let attempt = 1; !current; attempt++) {
    port = await freePort();
    const dir = newDir();
    try {
      current = await spawnRedis(port, dir, persistent);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      // Another process may have taken the port between the probe and the bind.
      if (attempt >= 3 || !(err instanceof Error) || !err.message.includes('exited')) throw err;
    }
  }
  /** The folder kept by `stop({ keepData: true })`, for the next `start()`. */
  let keptDir: string | undefined;
  // A test run that dies before stop() must not leave a server or a folder behind.
  const onExit = () => {
    if (current?.child.pid !== undefined && current.child.exitCode === null) process.kill(current.child.pid, 'SIGKILL');
    for (const dir of [current?.dir, keptDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  };
  let guarded = false;
  const guard = (on: boolean) => {
    if (on && !guarded) process.on('exit', onExit);
    if (!on && guarded) process.removeListener('exit', onExit);
    guarded = on;
  };
  guard(true);
  const stop = async (keepData: boolean) => {
    const was = current;
    current = undefined;
    if (was) {
      await stopRunning(was, keepData);
      if (keepData) keptDir = was.dir;
    }
    if (!keepData && keptDir) {
      rmSync(keptDir, { recursive: true, force: true });
      keptDir = undefined;
    }
  };
  const start = async () => {
    if (current) throw new Error(`redis-server is already running on port ${port}`);
    const dir = keptDir ?? newDir();
    keptDir = undefined;
    guard(true);
    try {
      current = await spawnRedis(port, dir, persistent);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop(stopOpts = {}) {
      await stop(stopOpts.keepData ?? false);
      if (!stopOpts.keepData) guard(false);
    },
    start,
    async restart() {
      await stop(persistent);
      await start();
    },
  };
}
