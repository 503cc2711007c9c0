import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('the protocol module', () => {
  it('imports only its own files and zod, so that the server, the admin UI and clients can all take it', () => {
    const dir = new URL('./', import.meta.url);
    const sources = readdirSync(dir).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(3);
    for (const name of sources) {
      const text = readFileSync(new URL(name, dir), 'utf8');
      const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
      for (const specifier of specifiers) expect(specifier, `${name} imports ${specifier}`).toMatch(/^(\.\/[\w-]+\.js|zod)$/);
    }
  });
});
