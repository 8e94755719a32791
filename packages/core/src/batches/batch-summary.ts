import type { BatchCounts, BatchState } from '@ferry/contract';
import { UNFINISHED_STATES, type DownloadState } from '@ferry/contract';

/** One member as the batch sees it: its live state, or, once retention removed its job, the outcome recorded when it ended. */
export interface MemberRow {
  readonly state: DownloadState | 'expired';
  /** For expired members: how they ended, if that was recorded. */
  readonly outcome: { readonly state: DownloadState; readonly bytes: number } | undefined;
  readonly receivedBytes: number;
  readonly totalBytes: number | null;
  /** Epoch ms; 0 while running or unknown. */
  readonly finishedOn: number;
}

export interface MemberSummary {
  readonly counts: BatchCounts;
  readonly bytes: { readonly received: number; readonly expected: number | null };
  /** No member is queued, active, delayed or paused. */
  readonly ended: boolean;
  readonly state: BatchState;
  /** When the last member ended (epoch ms), 0 if unknown. */
  readonly lastFinishedOn: number;
}

function emptyCounts(): BatchCounts {
  return { queued: 0, active: 0, delayed: 0, paused: 0, completed: 0, failed: 0, cancelled: 0, expired: 0 };
}

/**
 * Counts, bytes and state of a batch from its members. A member that ended
 * without completing is expected to bring no more than it received, so a
 * batch with failures still gets a known expected size once the others' sizes are known.
 */
export function summarizeMembers(rows: Iterable<MemberRow>, cancelled: boolean): MemberSummary {
  const counts = emptyCounts();
  let received = 0;
  let expected: number | null = 0;
  let failures = 0;
  let lastFinishedOn = 0;
  for (const row of rows) {
    counts[row.state] += 1;
    const ended = row.outcome?.state ?? row.state;
    if (ended !== 'completed' && !UNFINISHED_STATES.has(ended)) failures += 1;
    const got = row.outcome?.bytes ?? row.receivedBytes;
    received += got;
    const more = UNFINISHED_STATES.has(row.state) || row.state === 'completed' ? row.totalBytes : got;
    expected = expected === null || more === null ? null : expected + more;
    lastFinishedOn = Math.max(lastFinishedOn, row.finishedOn);
  }
  const ended = !Object.entries(counts).some(([state, count]) => count > 0 && UNFINISHED_STATES.has(state));
  const state: BatchState = cancelled ? 'cancelled' : !ended ? 'running' : failures > 0 ? 'completed_with_failures' : 'completed';
  return { counts, bytes: { received, expected }, ended, state, lastFinishedOn };
}
