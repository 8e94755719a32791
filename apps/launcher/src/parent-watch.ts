/**
 * Calls `onGone` once the process that started this one has exited. `npm start` runs the launcher under
 * `sh -c`: a SIGTERM to npm alone (a supervisor, `kill <its pid>`) is passed on to that shell only, which
 * dies of it without passing it further, and the launcher is handed to init with no signal of its own.
 * Its parent changing is the one sign it gets.
 */
export function whenParentExits(onGone: () => void, everyMs = 500): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, everyMs);
  timer.unref();
}
