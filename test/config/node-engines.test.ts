import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import semver from 'semver';

// What `engines` promises is what a user on the lowest of those Node versions gets: every
// package npm installs must run there, or `npm install && npm start` breaks on a version we name.

const root = new URL('../../', import.meta.url);
const readJson = <T>(relative: string): T => JSON.parse(readFileSync(new URL(relative, root), 'utf8')) as T;

interface Manifest {
  readonly name: string;
  readonly engines?: { readonly node?: string };
}
interface LockEntry {
  readonly name?: string;
  readonly version?: string;
  readonly optional?: boolean;
  readonly engines?: { readonly node?: string } | string[];
}

const range = readJson<Manifest>('package.json').engines?.node ?? '';
const lowest = semver.minVersion(range)?.version ?? '';

/**
 * Versions of packages whose `engines` asks for more than they need (a later version is held to its own).
 * eslint-visitor-keys 5 (typescript-eslint's) ships a CommonJS build of plain ES2022, which is what
 * typescript-eslint requires: lint runs on Node 20.18.1 with it.
 */
const REALLY_NEEDS: Readonly<Record<string, string>> = {
  'eslint-visitor-keys@5.0.1': '>=20.18.1',
};

describe('the Node versions Ferry runs on', () => {
  it('are one range, the same in every workspace', () => {
    expect(semver.validRange(range), range).not.toBeNull();
    const workspaces = ['apps', 'packages'].flatMap((dir) => readdirSync(new URL(dir, root)).map((name) => `${dir}/${name}/package.json`));
    for (const file of [...workspaces, 'test/package.json']) expect(readJson<Manifest>(file).engines?.node, file).toBe(range);
  });

  it('are the ones the README names', () => {
    const [major, minor] = lowest.split('.');
    expect(readFileSync(new URL('README.md', root), 'utf8')).toContain(`You need Node.js ${major}.${minor} or later`);
  });

  it('include the lowest one for every package installed, optional ones for other platforms aside', () => {
    const packages = readJson<{ packages: Record<string, LockEntry> }>('package-lock.json').packages;
    const refusing = Object.entries(packages).flatMap(([location, entry]) => {
      const name = entry.name ?? location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (location === '' || entry.optional === true || wanted === undefined) return [];
      const id = `${name}@${entry.version ?? '?'}`;
      const needed = REALLY_NEEDS[id] ?? wanted;
      return semver.satisfies(lowest, needed) ? [] : [`${id} needs Node ${needed}`];
    });
    expect(refusing, `engines says ${range}`).toEqual([]);
  });
});
