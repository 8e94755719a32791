import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
// `import`/`export … from` statements that stay in the emitted JavaScript (`import type` and `export type` are erased).
const RUNTIME_IMPORT = /^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+'([^']+)'/gms;

/** Every package a module loads at run time, following its relative imports. */
function runtimePackages(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(RUNTIME_IMPORT)) {
      if (specifier!.startsWith('.')) visit(path.resolve(path.dirname(file), specifier!.replace(/\.js$/, '.ts')));
      else packages.add(specifier!);
    }
  };
  visit(path.join(SRC, entry));
  return packages;
}

describe('the contract entry point (@ferry/core/contract)', () => {
  it('loads zod and Node built-ins only, so a service importing @ferry/client does not load Redis, BullMQ or undici', () => {
    const packages = [...runtimePackages('contract.ts')];
    expect(packages.filter((name) => name !== 'zod' && !name.startsWith('node:'))).toEqual([]);
  });

  it('sees the server-side packages the full entry point loads, so the walk above does find imports', () => {
    expect([...runtimePackages('index.ts')]).toEqual(expect.arrayContaining(['bullmq', 'ioredis', 'undici']));
  });
});
