import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

describe("the README's socket example", () => {
  it('is the client the soak and the pressure tests run, word for word', () => {
    const source = read('scripts/soak/follow-feed.ts');
    const example = /\/\/ readme:begin\n([\s\S]*?)\/\/ readme:end/.exec(source)?.[1];
    expect(example).toBeDefined();
    expect(example!.length).toBeGreaterThan(1000);
    expect(read('README.md')).toContain(`\`\`\`ts\n${example}\`\`\``);
  });
});
