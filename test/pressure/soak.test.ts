import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `npm run soak -- …args` as a process of its own; resolves its exit code and output. */
function soak(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/soak.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('npm run soak (SPEC §8), a short run', () => {
  it('loses nothing acknowledged through transport drops, offline clients, a stalled reader and a SIGKILL of the node', async () => {
    const { code, output } = await soak(['--duration', '60', '--users', '150']);
    expect(output).toMatch(/fault: stalled reader: [1-9]\d* slow-consumer close/);
    expect(output).toMatch(/fault: SIGKILL the node: restarted/);
    expect(output).toMatch(/\d+ transports cut, [1-9]\d* clients offline/);
    const published = Number(/published: ([\d,]+) acknowledged/.exec(output)?.[1]?.replace(/,/g, ''));
    expect(published).toBeGreaterThan(1000);
    expect(output).toMatch(/unhandled rejections in the nodes: 0/);
    expect(output).toMatch(/^lost 0, duplicates \d+, out of order 0$/m);
    expect(code, output).toBe(0);
  }, 150_000);

  it('loses nothing acknowledged on two nodes behind nginx, through a SIGKILL of one and a Redis restart', async () => {
    const { code, output } = await soak(['--cluster', '--duration', '60', '--users', '150']);
    expect(output).toMatch(/fault: SIGKILL soak-1: restarted/);
    expect(output).toMatch(/fault: Redis restart \(AOF\): back/);
    expect(output).toMatch(/unhandled rejections in the nodes: 0/);
    expect(output).toMatch(/^lost 0, duplicates \d+, out of order 0$/m);
    expect(code, output).toBe(0);
  }, 150_000);
});
