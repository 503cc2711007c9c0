import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Inspector } from '../bench/lib/inspector.js';
import { signToken } from '../server/src/auth/token-verifier.js';
import { NODE_FLAGS } from '../server/src/node-flags.js';
import { ensureBundle, SERVER_BUNDLE } from '../scripts/server-bundle.js';
import { freePort } from './free-port.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The HS256 secret of every node this helper starts. */
export const PROCESS_SECRET = 'herald-process-secret-at-least-32-characters';

/**
 * A Herald node as its own process (`node dist/server/main.mjs`, the bundle
 * `npm start` runs), for the tests and the soak that measure what a real
 * process does: its RSS, a SIGKILL, a SIGTERM drain, a restart on the same
 * port and data folder.
 */
export interface HeraldProcess {
  /** `http://127.0.0.1:<port>` (the same across restarts). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The PID of the running process (changes on restart). */
  readonly pid: number;
  readonly running: boolean;
  /** Signs an HS256 token this node accepts. */
  token(sub: string, opts?: { roles?: string[]; topics?: string[]; expiresIn?: number }): string;
  /** Resident set size in bytes, from /proc. */
  rss(): number;
  /** A full garbage collection in the node, through its inspector (started with `inspect: true`). */
  collectGarbage(): Promise<void>;
  /** The node's inspector (with `inspect: true`; a new one after each restart). */
  readonly inspector: Inspector | undefined;
  /** Everything it printed (last 64 KB). */
  output(): string;
  /** Sends `signal` and resolves with how it exited (rejects after `ms`). */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Starts it again on the same port and data folder; resolves once `/readyz` answers 200. */
  restart(): Promise<void>;
  /** Kills it if it runs and removes its data folder (unless it was given). */
  dispose(): Promise<void>;
}

export interface HeraldProcessOptions {
  env?: Record<string, string>;
  /** A data folder to use (kept by `dispose`); default: a fresh temporary one (removed). */
  dataDir?: string;
  /** How long start-up may take. @default 30000 */
  startTimeoutMs?: number;
  /** Node flags after Herald's own (server/src/node-flags.ts). */
  nodeArgs?: string[];
  /** Starts the node with `--inspect` on loopback, for {@link HeraldProcess.collectGarbage}. */
  inspect?: boolean;
}

/** Resolves once `/readyz` answers 200; rejects if the process exits first or after `ms`. */
async function untilReady(url: string, child: ChildProcess, output: () => string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`herald exited during start-up:\n${output()}`);
    const status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > until) throw new Error(`herald was not ready within ${ms} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startHeraldProcess(opts: HeraldProcessOptions = {}): Promise<HeraldProcess> {
  ensureBundle();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'herald-process-'));
  let child: ChildProcess;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let out = '';
  let inspector: Inspector | undefined;
  const launch = async () => {
    inspector?.close();
    inspector = undefined;
    const inspect = opts.inspect ? [`--inspect=127.0.0.1:${await freePort()}`] : [];
    let launchOutput = '';
    child = spawn(process.execPath, [...NODE_FLAGS, ...(opts.nodeArgs ?? []), ...inspect, SERVER_BUNDLE], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // NODE_ENV=test: an unhandled promise rejection ends the process, so no test passes over one.
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: dataDir,
        JWT_SECRET: PROCESS_SECRET,
        LOG_LEVEL: 'warn',
        ...opts.env,
      },
    });
    const keep = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-65_536);
      if (launchOutput.length < 4096) launchOutput += chunk.toString();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const started = child;
    exited = new Promise((resolve) => started.once('exit', (code, signal) => resolve({ code, signal })));
    await untilReady(url, child, () => out, opts.startTimeoutMs ?? 30_000);
    // This start's own line (the output of earlier starts is kept before it in `out`).
    if (opts.inspect) inspector = await Inspector.connect(/Debugger listening on (ws:\/\/\S+)/.exec(launchOutput)![1]!);
  };
  await launch();
  const running = () => child.exitCode === null && child.signalCode === null;
  const handle: HeraldProcess = {
    url,
    port,
    dataDir,
    get pid() {
      return child.pid!;
    },
    get running() {
      return running();
    },
    token: (sub, claims = {}) => signToken(PROCESS_SECRET, { sub, ...claims }),
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    get inspector() {
      return inspector;
    },
    async collectGarbage() {
      if (!inspector) throw new Error('started without inspect: true');
      await inspector.collectGarbage();
    },
    output: () => out,
    async stop(signal = 'SIGTERM', ms = 30_000) {
      if (!running()) return exited;
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          exited,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`herald did not exit within ${ms} ms of ${signal}:\n${out}`)), ms);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async restart() {
      if (running()) throw new Error('herald is still running');
      await launch();
    },
    async dispose() {
      inspector?.close();
      if (running()) {
        child.kill('SIGKILL');
        await exited;
      }
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}
