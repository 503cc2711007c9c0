/** The machine and versions a run is recorded with. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileLimit } from './proc.js';
import { ROOT } from './servers.js';

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}

export function describeMachine(loadAtStart: number): string[] {
  const cpus = os.cpus();
  const limit = fileLimit();
  const dirty = run('git', ['status', '--porcelain', '--', 'server']).split('\n').filter(Boolean).length;
  const redis = /v=(\S+)/.exec(run('/usr/bin/redis-server', ['--version']))?.[1] ?? '?';
  return [
    `- machine: ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}; open-file limit ${limit.soft} (hard ${limit.hard})`,
    `- Node ${process.version}; socket.io ${version('socket.io')}, engine.io ${version('engine.io')}, ws ${version('ws')}, socket.io-client ${version('socket.io-client')}, ` +
      `express ${version('express')}, better-sqlite3 ${version('better-sqlite3')}, ioredis ${version('ioredis')}, @socket.io/redis-adapter ${version('@socket.io/redis-adapter')}, ` +
      `redis-server ${redis}, autocannon ${version('autocannon')}`,
    `- Herald at ${run('git', ['rev-parse', '--short', 'HEAD'])}${dirty > 0 ? ` with ${dirty} uncommitted file(s) under server/` : ''}`,
    `- 1-minute load average when the run started: ${loadAtStart.toFixed(2)} (other engineers' work shares this machine: see "other load" in the notes)`,
  ];
}
