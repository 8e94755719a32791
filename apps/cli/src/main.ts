import process from 'node:process';
import { run } from './run.js';

const interrupt = new AbortController();
// The first Ctrl-C stops waiting (the downloads go on in Ferry); a second one exits at once.
process.once('SIGINT', () => {
  interrupt.abort();
  process.once('SIGINT', () => process.exit(130));
});

process.exitCode = await run(process.argv.slice(2), {
  out: process.stdout,
  err: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: interrupt.signal,
});
