import { readFileSync } from 'node:fs';

/** Peak resident set size (VmHWM) of a process in MB (1e6 bytes), or null once it is gone; /proc reports it in KiB. */
export function peakRssMB(pid = 'self') {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? null : (Number(match[1]) * 1024) / 1e6;
  } catch {
    return null;
  }
}
