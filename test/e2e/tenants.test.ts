import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_KEY, bearer, OTHER_API_KEY } from '../support/ferry.js';
import { listFiles, pathOf } from '../support/files.js';
import type { Handler } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const stack = useStack({ workers: 1 });
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const body =
  (text: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
  };

async function content(id: string, key: string) {
  const response = await fetch(`${stack.ferry.baseUrl}/v1/downloads/${id}/content`, { headers: bearer(key) });
  return { status: response.status, text: await response.text() };
}

/** Downloads `text` as `filename` for `key` and waits for the end. */
async function store(key: string, route: string, text: string, options: Record<string, unknown> = {}) {
  const id = await stack.ferry.enqueue({ url: stack.origin.route(route, body(text)), ...options }, key);
  return stack.ferry.waitFor(id, ['completed', 'failed'], 60_000, key);
}

describe('when two API keys store files of the same name', () => {
  it("keeps each key's bytes apart: an overwrite by one key never touches the other's file", async () => {
    const mine = await store(API_KEY, '/tenants/a1', 'belongs to test', { filename: 'report.txt' });
    const theirs = await store(OTHER_API_KEY, '/tenants/b1', 'written by other', { filename: 'report.txt', onConflict: 'overwrite' });
    expect(mine.state).toBe('completed');
    expect(theirs.state).toBe('completed');
    // Each key has the name to itself: nothing was renamed around the other's file.
    expect(mine.result?.filename).toBe('report.txt');
    expect(theirs.result?.filename).toBe('report.txt');
    expect(pathOf(mine.result!.location)).not.toBe(pathOf(theirs.result!.location));

    expect(await content(mine.id, API_KEY)).toEqual({ status: 200, text: 'belongs to test' });
    expect(mine.result?.sha256).toBe(sha256('belongs to test'));
    expect(await content(theirs.id, OTHER_API_KEY)).toEqual({ status: 200, text: 'written by other' });
  });

  it('does not tell one key which names the other holds, whatever the conflict policy', async () => {
    await store(API_KEY, '/tenants/a2', 'held by test', { filename: 'taken.txt' });
    const failing = await store(OTHER_API_KEY, '/tenants/b2', 'other', { filename: 'taken.txt', onConflict: 'fail' });
    expect(failing.state).toBe('completed');
    const renaming = await store(OTHER_API_KEY, '/tenants/b3', 'other again', { filename: 'taken.txt', onConflict: 'rename' });
    // Renamed around its own file only.
    expect(renaming.result?.filename).toBe('taken (1).txt');
  });

  it('publishes into a directory of its own per key, which the other key never writes into', async () => {
    await store(OTHER_API_KEY, '/tenants/b4', 'only other', { filename: 'solo.txt' });
    expect(await listFiles(stack.ferry.filesOf('other'))).toContain('solo.txt');
    expect(await listFiles(stack.ferry.filesOf('test'))).not.toContain('solo.txt');
    expect(path.dirname(path.dirname(pathOf((await store(API_KEY, '/tenants/a5', 'x', { filename: 'x.txt' })).result!.location)))).toBe(stack.ferry.storageDir);
  });
});

describe("when a later download of the same key overwrites an earlier one's file", () => {
  it("never serves the later bytes as the earlier download's content", async () => {
    const first = await store(API_KEY, '/tenants/v1', 'version one', { filename: 'same.txt' });
    const second = await store(API_KEY, '/tenants/v2', 'version two!', { filename: 'same.txt', onConflict: 'overwrite' });
    expect(second.result?.filename).toBe('same.txt');
    expect(await content(second.id, API_KEY)).toEqual({ status: 200, text: 'version two!' });
    const stale = await content(first.id, API_KEY);
    expect(stale.status).toBe(404);
    expect(JSON.parse(stale.text)).toMatchObject({ code: 'FERRY_ERR_NOT_FOUND', message: expect.stringMatching(/replaced/) });
  });

  it('serves the earlier content again when the same bytes are back under the name (a restored copy)', async () => {
    const first = await store(API_KEY, '/tenants/r1', 'stable bytes', { filename: 'restored.txt' });
    await store(API_KEY, '/tenants/r2', 'stable bytes', { filename: 'restored.txt', onConflict: 'overwrite' });
    expect(await content(first.id, API_KEY)).toEqual({ status: 200, text: 'stable bytes' });
  });
});
