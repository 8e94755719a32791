import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@ferry/launcher/redis-server';
import { startDelayingProxy } from '../support/delaying-proxy.js';
import { API_KEY } from '../support/ferry.js';
import { serveFile, status } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { shellQuote, TmuxTerminal } from '../support/terminal.js';

const KiB = 1024;
/** The `ferry` that `npm install` links for the repository, as `npx ferry` runs it. */
const FERRY = fileURLToPath(new URL('../../node_modules/.bin/ferry', import.meta.url));
const stack = useStack({ workers: 2 });

const terminals: TmuxTerminal[] = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-cli-'));
});
afterEach(async () => {
  await Promise.all(terminals.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `ferry <args>` in a real terminal, in `dir`, against the test stack. */
async function ferryInTerminal(...args: string[]): Promise<TmuxTerminal> {
  const env = `LANG=C.UTF-8 FERRY_URL=${shellQuote(stack.ferry.baseUrl)} FERRY_API_KEY=${shellQuote(API_KEY)}`;
  const command = `cd ${shellQuote(dir)} && env ${env} ${shellQuote(FERRY)} ${args.map(shellQuote).join(' ')}`;
  const terminal = await TmuxTerminal.start(command, { socket: path.join(dir, 'tmux.sock') });
  terminals.push(terminal);
  return terminal;
}

/** `ferry <args>` with stdout and stderr on pipes, as in a script or a CI log. */
async function ferryInPipe(args: string[], env: Record<string, string> = {}, cwd = dir) {
  // Only what the test gives: a FERRY_API_KEY in the environment of the run would hide the key file.
  const fullEnv = { PATH: process.env.PATH, LANG: 'C', FERRY_URL: stack.ferry.baseUrl, ...env };
  return promisify(execFile)(FERRY, args, { cwd, env: fullEnv }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

describe('ferry add --wait in a terminal', () => {
  it('redraws a progress bar with percentage, bytes, speed and ETA, then exits 0 with the summary', async () => {
    const file = await stack.origin.randomFile('cli-slow.bin', 1024 * KiB);
    const url = stack.origin.route('/cli/slow.bin', serveFile(file, { bytesPerSecond: 256 * KiB }));

    const terminal = await ferryInTerminal('add', url, '--wait');

    // Part way: the bar partly filled, and speed and ETA once two progress reports came in.
    await terminal.waitFor(/^ {2}slow\.bin +█+░+ +[1-9]\d?% {2}\d+(\.\d)? KiB \/ 1\.0 MiB {2}\d+ KiB\/s {2}ETA 0:0\d$/m);
    expect(await terminal.exitCode()).toBe(0);
    const after = await terminal.screen();
    expect(after).toMatch(/^[0-9a-f-]{36} {2}queued {2}http:\/\/127\.0\.0\.2:\d+\/cli\/slow\.bin$/m);
    // Redrawn in place: one line for the download, complete, and never a second copy of it.
    expect(after).toMatch(/^✓ slow\.bin +█{24} 100% {2}1\.0 MiB {2}done$/m);
    expect(after.match(/slow\.bin +[█░]/g)).toHaveLength(1);
    expect(after).toMatch(/^1 succeeded, 0 failed$/m);
  });
});

describe('a download paused while ferry add --wait shows it', () => {
  it('is shown paused with its bytes and no speed or ETA, and goes on when resumed', async () => {
    const file = await stack.origin.randomFile('cli-paused.bin', 1024 * KiB);
    const url = stack.origin.route('/cli/paused.bin', serveFile(file, { etag: '"p1"', bytesPerSecond: 128 * KiB }));
    const terminal = await ferryInTerminal('add', url, '--wait');
    const running = await terminal.waitFor(/^ {2}paused\.bin .* KiB\/s {2}ETA /m);
    const id = /^([0-9a-f-]{36}) {2}queued/m.exec(running)![1]!;

    expect((await stack.ferry.request('POST', `/v1/downloads/${id}/pause`)).body).toMatchObject({ state: 'paused' });

    const paused = await terminal.waitFor(/^ {2}paused\.bin +█*░+ +\d{1,2}% {2}\d+ KiB \/ 1\.0 MiB {2}paused$/m);
    expect(paused).not.toMatch(/paused\.bin .*(\/s|ETA)/);
    await stack.ferry.request('POST', `/v1/downloads/${id}/resume`);
    expect(await terminal.exitCode()).toBe(0);
    expect(await terminal.screen()).toMatch(/^✓ paused\.bin +█{24} 100% {2}1\.0 MiB {2}done$/m);
  });
});

describe('Ctrl-C while ferry waits', () => {
  it('stops waiting with exit status 130, and the download goes on in Ferry', async () => {
    const file = await stack.origin.randomFile('cli-interrupted.bin', 512 * KiB);
    const url = stack.origin.route('/cli/interrupted.bin', serveFile(file, { bytesPerSecond: 128 * KiB }));
    const terminal = await ferryInTerminal('add', url, '--wait');
    const screen = await terminal.waitFor(/interrupted\.bin +█*░+ +[1-9]\d?%/);
    const id = /^([0-9a-f-]{36}) {2}queued/m.exec(screen)![1]!;

    await terminal.press('C-c');

    expect(await terminal.exitCode()).toBe(130);
    expect(await terminal.screen()).toContain('Stopped waiting; the downloads go on in Ferry (ferry status <id> shows one).');
    expect((await stack.ferry.waitFor(id)).result?.sha256).toBe(file.sha256);
  });
});

describe('ferry batch --wait in a terminal', () => {
  it('exits 1 when one of two downloads fails, with "1 succeeded, 1 failed" and the failure code', async () => {
    const file = await stack.origin.randomFile('cli-good.bin', 512 * KiB);
    const good = stack.origin.route('/cli/good.bin', serveFile(file, { bytesPerSecond: 256 * KiB }));
    const missing = stack.origin.route('/cli/missing.bin', status(404));
    await writeFile(path.join(dir, 'urls.txt'), `# two downloads\n${good}\n\n${missing}\n`);

    const terminal = await ferryInTerminal('batch', 'urls.txt', '--wait');

    // The batch's event stream drives the bars.
    await terminal.waitFor(/^ {2}good\.bin +█*░+ +[1-9]\d?% {2}\d+ KiB \/ 512 KiB/m);
    expect(await terminal.exitCode()).toBe(1);
    const screen = await terminal.screen();
    expect(screen).toMatch(/^batch \S+: 2 downloads$/m);
    expect(screen).toMatch(/^✓ good\.bin +█{24} 100% {2}512 KiB {2}done$/m);
    expect(screen).toMatch(/^✗ missing\.bin .* FERRY_ERR_ORIGIN_REJECTED$/m);
    expect(screen).toMatch(/^1 succeeded, 1 failed$/m);
    expect(screen).toContain(`  ✗ ${missing} (`);
    expect(screen).toContain(`): FERRY_ERR_ORIGIN_REJECTED: origin answered 404 Not Found for ${missing}`);
  });

  it('marks each member done as soon as it ends, also those that ended before its event stream opened', async () => {
    const quick = await stack.origin.randomFile('cli-quick.bin', 16 * KiB);
    const slowFile = await stack.origin.randomFile('cli-batch-slow.bin', 1024 * KiB);
    const quickUrls = [1, 2].map((n) => stack.origin.route(`/cli/quick-${n}.bin`, serveFile(quick)));
    const slow = stack.origin.route('/cli/batch-slow.bin', serveFile(slowFile, { bytesPerSecond: 128 * KiB }));
    await writeFile(path.join(dir, 'mixed.txt'), `${slow}\n${quickUrls.join('\n')}\n`);
    // The event stream opens late, through a slow proxy: the quick members have ended by then.
    const proxy = await startDelayingProxy(stack.ferry.baseUrl, (request) => (request.url?.endsWith('/events') ? 1500 : 0));
    try {
      const terminal = await ferryInTerminal('batch', 'mixed.txt', '--wait', '--url', proxy.url);

      const screen = await terminal.waitFor(/^✓ quick-1\.bin[^\n]*done\n✓ quick-2\.bin[^\n]*done$/m, 20_000);
      expect(screen).toMatch(/^ {2}batch-slow\.bin +█*░+ +\d{1,2}% /m);
      expect(screen).not.toMatch(/^\d+ succeeded/m);
      expect(await terminal.exitCode()).toBe(0);
      expect(await terminal.screen()).toMatch(/^3 succeeded, 0 failed$/m);
    } finally {
      await proxy.close();
    }
  });
});

describe('ferry batch with a URL Ferry refuses', () => {
  it('names the line of the file it is on, enqueues nothing and exits 1', async () => {
    await writeFile(path.join(dir, 'bad.txt'), `${stack.origin.url('/cli/fine.bin')}\n# then a typo\nhttps//example.com/typo.bin\n`);

    const terminal = await ferryInTerminal('batch', 'bad.txt');

    expect(await terminal.exitCode()).toBe(1);
    const screen = await terminal.screen();
    expect(screen).toContain('Ferry enqueued nothing: bad.txt has URLs it refuses (FERRY_ERR_VALIDATION)');
    expect(screen).toContain('  bad.txt:3: https//example.com/typo.bin: url must be an absolute http:// or https:// URL');
  });
});

describe('ferry status and cancel', () => {
  it('shows a completed download with its file and sha256, and cancels a delayed one', async () => {
    const file = await stack.origin.randomFile('cli-status.bin', 32 * KiB);
    const url = stack.origin.route('/cli/status.bin', serveFile(file));
    const id = await stack.ferry.enqueue({ url });
    await stack.ferry.waitFor(id);

    const shown = await ferryInTerminal('status', id);
    expect(await shown.exitCode()).toBe(0);
    const screen = await shown.screen();
    expect(screen).toMatch(/^state: +completed$/m);
    expect(screen).toMatch(new RegExp(`^sha256: +${file.sha256}$`, 'm'));
    expect(screen).toMatch(/^file: +status\.bin \(32 KiB\)$/m);

    const later = await stack.ferry.enqueue({ url, delayMs: 60_000 });
    const cancelled = await ferryInTerminal('cancel', later);
    expect(await cancelled.exitCode()).toBe(0);
    expect(await cancelled.screen()).toContain(`cancelled ${later}`);
    expect((await stack.ferry.status(later)).state).toBe('cancelled');
  });

  it('exits 1 for a failed or cancelled download and 3 for one that has not ended, still showing it', async () => {
    const key = { FERRY_API_KEY: API_KEY };
    const failed = await stack.ferry.enqueue({ url: stack.origin.route('/cli/status-missing.bin', status(404)) });
    await stack.ferry.waitFor(failed, ['failed']);
    const later = await stack.ferry.enqueue({ url: stack.origin.url('/cli/status-later.bin'), delayMs: 60_000 });

    const shownFailed = await ferryInPipe(['status', failed], key);
    expect(shownFailed.code).toBe(1);
    expect(shownFailed.stdout).toMatch(/^state: +failed$/m);
    expect(shownFailed.stdout).toMatch(/^error: +FERRY_ERR_ORIGIN_REJECTED: /m);
    const shownDelayed = await ferryInPipe(['status', later], key);
    expect(shownDelayed.code).toBe(3);
    expect(shownDelayed.stdout).toMatch(/^state: +delayed$/m);
    await stack.ferry.request('DELETE', `/v1/downloads/${later}`);
    const shownCancelled = await ferryInPipe(['status', later], key);
    expect(shownCancelled.code).toBe(1);
    expect(shownCancelled.stdout).toMatch(/^state: +cancelled$/m);
  });

  it("exits 1 with Ferry's code when Ferry refuses: an unknown id", async () => {
    const terminal = await ferryInTerminal('status', '00000000-0000-4000-8000-000000000000');
    expect(await terminal.exitCode()).toBe(1);
    expect(await terminal.screen()).toContain('ferry: FERRY_ERR_NOT_FOUND: no download with id 00000000-0000-4000-8000-000000000000');
  });
});

describe('ferry called wrongly', () => {
  it('exits 2 with what is wrong and where the help is', async () => {
    for (const args of [['add'], ['frobnicate'], ['status', 'a', 'b'], ['status', 'x', '--wait'], ['add', '--bogus']]) {
      const terminal = await ferryInTerminal(...args);
      expect(await terminal.exitCode(), args.join(' ')).toBe(2);
      expect(await terminal.screen()).toContain('Run `ferry --help` for usage.');
    }
  });

  it('says which address it cannot reach and to start Ferry, exiting 1', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await ferryInPipe(['status', 'x', '--url', url], { FERRY_API_KEY: API_KEY });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^ferry: cannot reach Ferry at ${url}: connect ECONNREFUSED \\S+ \\(is \`npm start\` running\\?\\)\n`));
  });

  it('exits 2 for a --url that is not an http:// or https:// address, saying what it must be', async () => {
    for (const url of ['localhost:3000', 'ftp://127.0.0.1:3000', '127.0.0.1:3000']) {
      const result = await ferryInPipe(['status', 'x', '--url', url], { FERRY_API_KEY: API_KEY });
      expect(result.code, url).toBe(2);
      expect(result.stderr, url).toContain(`--url / FERRY_URL must be an absolute http:// or https:// URL such as http://127.0.0.1:3000; got ${url}`);
      expect(result.stderr, url).not.toContain('cannot reach');
    }
  });

  it('--help and --version exit 0, and the help names the development key file', async () => {
    const help = await ferryInPipe(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('.ferry/dev-api-key');
    expect((await ferryInPipe(['--version'])).stdout).toBe('ferry 0.1.0\n');
  });
});

describe('ferry without a terminal', () => {
  it('prints plain lines without ANSI escapes, reading the key `npm start` keeps in .ferry/dev-api-key', async () => {
    const project = path.join(dir, 'project');
    await mkdir(path.join(project, '.ferry'), { recursive: true });
    await writeFile(path.join(project, '.ferry', 'dev-api-key'), `${API_KEY}\n`);
    const file = await stack.origin.randomFile('cli-plain.bin', 16 * KiB);
    const url = stack.origin.route('/cli/plain.bin', serveFile(file));

    const result = await ferryInPipe(['add', url, '--wait'], {}, project);

    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('\x1b[');
    expect(result.stdout).toMatch(/^✓ plain\.bin +#{24} 100% {2}16 KiB {2}done$/m);
    expect(result.stdout).toMatch(/^1 succeeded, 0 failed$/m);
  });

  it('exits 2 when it finds no API key anywhere', async () => {
    const result = await ferryInPipe(['status', 'x'], {}, os.tmpdir());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no API key: pass --api-key, set FERRY_API_KEY, or run `npm start` here once');
  });
});
