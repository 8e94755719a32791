// A bench's child process (a Ferry service, a peer server): forked, and awaited until it sends
// { type: 'ready', … } over IPC, so a bench measures only a process that is up.
import { fork } from 'node:child_process';

/**
 * Forks `script` with `args`, `env` and node `execArgv`; resolves once it sends its ready message (kept as
 * `ready`, e.g. `ready.address`), rejects with its stderr if it exits first. `stop()` ends it with SIGTERM.
 */
export async function forkReady(script, args, env, execArgv = [], label = script) {
  const child = fork(script, args, { env, execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const ready = await new Promise((resolve, reject) => {
    child.on('message', (message) => message?.type === 'ready' && resolve(message));
    child.once('exit', (code) => reject(new Error(`${label} exited with ${code} before it was ready:\n${stderr}`)));
  });
  const stop = () => new Promise((resolve) => (child.exitCode === null ? (child.once('exit', resolve), child.kill('SIGTERM')) : resolve()));
  return { child, ready, stop };
}
