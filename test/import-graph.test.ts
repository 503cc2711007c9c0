import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Every TypeScript source under `dir`, tests left out. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sources(file);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [file] : [];
  });
}

/** What `file` imports or re-exports from, types, side effects and dynamic imports included, as written. */
function specifiersOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const patterns = [/^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm, /^\s*import\s+['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]!));
}

/** The files of this tree that `file` imports from. */
function importsOf(file: string): string[] {
  return specifiersOf(file)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
}

/** Each cycle of the graph once, as the files around it (a depth-first search). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push(stack.slice(stack.indexOf(next)).map((f) => path.relative(ROOT, f)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('the import graph of the server and the protocol module', () => {
  const files = [...sources(path.join(ROOT, 'server/src')), ...sources(path.join(ROOT, 'protocol'))];
  const graph = new Map(files.map((file) => [file, importsOf(file)]));

  it('reads every file and finds the imports between them', () => {
    expect(files.length).toBeGreaterThan(50);
    const edges = [...graph.values()].flat();
    expect(edges.length).toBeGreaterThan(100);
    for (const target of edges) expect(graph.has(target), path.relative(ROOT, target)).toBe(true);
  });

  it('has no cycle, type-only imports included', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('keeps the domain below everything that implements or serves it: it imports only protocol/, the errors and itself', () => {
    const domain = path.join(ROOT, 'server/src/domain');
    const allowed = [domain + path.sep, path.join(ROOT, 'protocol') + path.sep, path.join(ROOT, 'server/src/errors.ts')];
    for (const [file, targets] of graph) {
      if (!file.startsWith(domain + path.sep)) continue;
      for (const target of targets) expect(allowed.some((a) => target.startsWith(a)), `${path.relative(ROOT, file)} imports ${path.relative(ROOT, target)}`).toBe(true);
    }
  });

  it('keeps protocol/ free of the server: it imports only its own files and zod, so that browsers and clients can take it', () => {
    const protocol = path.join(ROOT, 'protocol') + path.sep;
    const own = files.filter((file) => file.startsWith(protocol));
    expect(own.length).toBeGreaterThan(5);
    for (const file of own) {
      for (const specifier of specifiersOf(file)) expect(specifier, `${path.relative(ROOT, file)} imports ${specifier}`).toMatch(/^(\.\/[\w-]+\.js|zod)$/);
    }
  });

  it('reads every kind of import (the check itself)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'herald-imports-'));
    try {
      const file = path.join(dir, 'x.ts');
      writeFileSync(file, `import "./side.js";\nimport type { A } from './a.js';\nexport { b } from "./b.js";\nconst c = await import('./c.js');\nimport {\n  d,\n} from 'zod';\n`);
      expect(specifiersOf(file).sort()).toEqual(['./a.js', './b.js', './c.js', './side.js', 'zod']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => path.join(ROOT, name)) as [string, string, string, string];
    expect(cycles(new Map([[a, [b]], [b, [c]], [c, [a]], [d, [a]]]))).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([[a, [b]], [b, [c]], [d, [a, c]]]))).toEqual([]);
  });
});
