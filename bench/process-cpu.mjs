import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's times: USER_HZ, 100 on every Linux platform Node runs on. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system, all threads) a live process has used so far; /proc/<pid>/stat fields 14 and 15. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}
