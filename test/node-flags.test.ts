import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../server/src/node-flags.js';

const root = path.resolve(import.meta.dirname, '..');

describe('the V8 flags Herald runs with', () => {
  it('are passed by npm start', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${NODE_FLAGS.join(' ')} dist/server/main.mjs`);
  });

  it('are passed by the Docker image', () => {
    const cmd = readFileSync(path.join(root, 'Dockerfile'), 'utf8')
      .split('\n')
      .find((line) => line.startsWith('CMD '));
    expect(JSON.parse(cmd!.slice('CMD '.length))).toEqual(['node', ...NODE_FLAGS, 'dist/server/main.mjs']);
  });
});
