import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Debian's nginx-light, installed by scripts/provision.sh. */
const BINARY = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((file) => existsSync(file)) ?? 'nginx';

export interface Nginx {
  /** `http://127.0.0.1:<port>` */
  url: string;
  stop(): Promise<void>;
}

/**
 * The real deploy/nginx.conf in front of Herald nodes on loopback: only the node
 * addresses, the listening port and the paths of its own files change.
 */
export async function startNginx(nodePorts: readonly [number, number]): Promise<Nginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-nginx-'));
  const port = await freePort();
  const conf = readFileSync(path.join(ROOT, 'deploy/nginx.conf'), 'utf8')
    .replace(/^user .*;$/m, '')
    .replace(/^pid .*;$/m, `pid ${dir}/nginx.pid;`)
    .replace(/access_log [^;]+;/, 'access_log off;')
    .replace(/listen 80;/, `listen 127.0.0.1:${port};`)
    .replace(/server herald-1:3000/, `server 127.0.0.1:${nodePorts[0]}`)
    .replace(/server herald-2:3000/, `server 127.0.0.1:${nodePorts[1]}`)
    .replace(/http \{/, `http {\n    client_body_temp_path ${dir}/body;\n    proxy_temp_path ${dir}/proxy;`);
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const args = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', 'stderr'];
  execFileSync(BINARY, [...args, '-t'], { stdio: 'pipe' });
  // Its warnings (an upstream down, as the tests and the soak cause on purpose) stay out of their output.
  const child: ChildProcess = spawn(BINARY, [...args, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 10_000;
  while ((await fetch(`${url}/healthz`).catch(() => undefined))?.status !== 200) {
    if (Date.now() > until) throw new Error('nginx did not answer /healthz within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
