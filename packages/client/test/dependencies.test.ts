import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly resolved?: string;
  readonly link?: boolean;
}

const lock = JSON.parse(readFileSync(new URL('../../../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, LockEntry> };

/**
 * Every package that installing `workspace` brings, as npm resolves them in the
 * lockfile: a dependency is looked up in the nearest node_modules going up from
 * its dependent, and a workspace link is followed to the workspace's own entry.
 */
function installedTree(workspace: string): Set<string> {
  const names = new Set<string>();
  const visit = (location: string) => {
    const entry = lock.packages[location];
    if (entry === undefined) throw new Error(`the lockfile has no ${location}`);
    if (entry.link === true && entry.resolved !== undefined) return visit(entry.resolved);
    for (const name of Object.keys({ ...entry.dependencies, ...entry.peerDependencies, ...entry.optionalDependencies })) {
      if (names.has(name)) continue;
      let from = location;
      let found: string | undefined;
      for (;;) {
        const candidate = `${from === '' ? '' : `${from}/`}node_modules/${name}`;
        if (lock.packages[candidate] !== undefined) {
          found = candidate;
          break;
        }
        if (from === '') break;
        const up = from.lastIndexOf('/node_modules/');
        from = up >= 0 ? from.slice(0, up) : '';
      }
      if (found === undefined) continue; // an optional peer nobody installed
      names.add(name);
      visit(found);
    }
  };
  visit(workspace);
  return names;
}

describe("@ferry/client's installed dependencies", () => {
  it('hold the contract and zod, and none of the server side: no bullmq, ioredis, undici, pino or @ferry/core', () => {
    const tree = installedTree('packages/client');
    expect(tree).toContain('@ferry/contract');
    expect(tree).toContain('zod');
    expect([...tree].filter((name) => ['bullmq', 'ioredis', 'undici', 'pino', '@ferry/core', '@ferry/engine', '@ferry/storage'].includes(name))).toEqual([]);
  });

  it("sees the server side in the API's tree, so the walk above does follow dependencies", () => {
    expect([...installedTree('apps/api')]).toEqual(expect.arrayContaining(['bullmq', 'ioredis', 'undici', 'pino', '@ferry/core']));
  });
});

describe("@ferry/client's sources", () => {
  it('load no node: module, so the web page (apps/web) runs the same client in a browser', () => {
    const dir = new URL('../src/', import.meta.url);
    const nodeImports = readdirSync(dir)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) => [...readFileSync(new URL(name, dir), 'utf8').matchAll(/from '(node:[^']+)'/g)].map((match) => `${name}: ${match[1]}`));
    expect(nodeImports).toEqual([]);
  });
});
