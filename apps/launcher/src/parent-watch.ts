import { isAlive } from './is-alive.js';
import { parentPid } from './parent-pid.js';

/**
 * Calls `onGone` once the `npm start` that runs this launcher has exited. npm runs the launcher under
 * `sh -c`: a SIGTERM to npm alone (a supervisor, `kill <its pid>`) is passed on to that shell only, which
 * dies of it without passing it further; a SIGKILL of npm reaches neither. Either way the launcher gets no
 * signal of its own, so it watches both. Run directly (`node apps/launcher/dist/main.js`, under nohup…),
 * it watches nothing: a parent shell that exits is no reason to stop.
 */
export function whenNpmExits(onGone: () => void, everyMs = 500): void {
  if (process.env['npm_lifecycle_event'] === undefined) return;
  const shell = process.ppid;
  const npm = parentPid(shell);
  const timer = setInterval(() => {
    if (process.ppid === shell && (npm === undefined || isAlive(npm))) return;
    clearInterval(timer);
    onGone();
  }, everyMs);
  timer.unref();
}
