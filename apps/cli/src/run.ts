import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FerryClient, FerryClientError } from '@ferry/client';
import { add } from './commands/add.js';
import { batch } from './commands/batch.js';
import { cancel } from './commands/cancel.js';
import { status } from './commands/status.js';
import type { Context, Io } from './context.js';
import { DEFAULT_URL, resolveSettings, type Settings } from './settings.js';
import { EXIT, HELP, UsageError } from './usage.js';

const OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  wait: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** What to tell a person about an error Ferry (or the way to it) gave. */
function explain(err: FerryClientError, settings: Settings): string {
  switch (err.code) {
    case 'FERRY_CLIENT_ERR_UNREACHABLE':
      return `${err.message} (is \`npm start\` running?)`;
    case 'FERRY_ERR_UNAUTHORIZED':
      return `Ferry at ${settings.url} refused the API key from ${settings.apiKeySource} (${err.code}): pass --api-key or set FERRY_API_KEY`;
    default:
      return `${err.code}: ${err.message}${err.issues.map((issue) => `\n  ${issue.path} ${issue.message}`).join('')}`;
  }
}

/** The one argument a command takes, or undefined for the command to complain about. */
function single(command: string, what: string, args: readonly string[]): string | undefined {
  if (args.length > 1) throw new UsageError(`${command} takes one ${what}; got ${args.length}`);
  return args[0];
}

type Command = (ctx: Context, args: string[], wait: boolean) => Promise<number>;
const COMMANDS: Readonly<Record<string, Command>> = {
  add: (ctx, args, wait) => add(ctx, args, wait),
  batch: (ctx, args, wait) => batch(ctx, single('batch', 'file', args), wait),
  status: (ctx, args) => status(ctx, single('status', 'download id', args)),
  cancel: (ctx, args) => cancel(ctx, single('cancel', 'download id', args)),
};
const WAITING_COMMANDS = new Set(['add', 'batch']);

/** Runs ferry with `argv` (without node and the script); resolves with the exit status. */
export async function run(argv: string[], io: Io): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.out.write(HELP);
      return EXIT.ok;
    }
    if (values.version) {
      io.out.write(`ferry ${version()}\n`);
      return EXIT.ok;
    }
    const [command, ...args] = positionals;
    if (command === undefined) throw new UsageError('no command given');
    const runCommand = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (runCommand === undefined) throw new UsageError(`unknown command ${command}`);
    if (values.wait && !WAITING_COMMANDS.has(command)) throw new UsageError('--wait goes with add or batch');
    const settings = await resolveSettings({ url: values.url, apiKey: values['api-key'] }, io.env, io.cwd);
    if (settings.apiKey === undefined) {
      throw new UsageError(`no API key: pass --api-key, set FERRY_API_KEY, or run \`npm start\` here once so that ${settings.keyFile} exists`);
    }
    // `localhost:3000` parses as a URL of scheme `localhost:`; only fetch would then refuse it, as if Ferry were down.
    if (!/^https?:$/.test(URL.parse(settings.url)?.protocol ?? '')) {
      throw new UsageError(`--url / FERRY_URL must be an absolute http:// or https:// URL such as ${DEFAULT_URL}; got ${settings.url}`);
    }
    const client = new FerryClient({ baseUrl: settings.url, apiKey: settings.apiKey });
    try {
      return await runCommand({ ...io, client }, args, values.wait ?? false);
    } catch (err) {
      if (!(err instanceof FerryClientError)) throw err;
      if (err.code === 'FERRY_CLIENT_ERR_ABORTED') return EXIT.interrupted;
      io.err.write(`ferry: ${explain(err, settings)}\n`);
      return EXIT.failed;
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err.write(`ferry: ${err.message}\nRun \`ferry --help\` for usage.\n`);
    return EXIT.usage;
  }
}
