import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
// `import`/`export … from` statements that stay in the emitted JavaScript (`import type` and `export type` are erased).
const RUNTIME_IMPORT = /^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+'([^']+)'/gms;

/** The files a module loads at run time, following its relative imports, and the packages they load. */
function walk(entry: string): { files: Set<string>; packages: Set<string> } {
  const packages = new Set<string>();
  const files = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(RUNTIME_IMPORT)) {
      if (specifier!.startsWith('.')) visit(path.resolve(path.dirname(file), specifier!.replace(/\.js$/, '.ts')));
      else packages.add(specifier!);
    }
  };
  visit(path.join(SRC, entry));
  return { files, packages };
}
const runtimePackages = (entry: string) => walk(entry).packages;
const runtimeFiles = (entry: string) => walk(entry).files;

describe('@ferry/contract', () => {
  it('loads zod alone, so a browser page or a service importing @ferry/client loads no Redis, BullMQ, undici or node: module', () => {
    expect([...runtimePackages('index.ts')]).toEqual(['zod']);
  });

  it('uses no Node global a browser lacks', () => {
    const sources = [...runtimeFiles('index.ts')].map((file) => readFileSync(file, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, ''));
    expect(sources.filter((text) => /\b(Buffer|process|require|__dirname)\b/.test(text))).toEqual([]);
  });
});
