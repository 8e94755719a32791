import { describe, expect, it } from 'vitest';
import { summarizeMembers, type MemberRow } from '../src/batches/batch-summary.js';

const row = (state: MemberRow['state'], receivedBytes: number, totalBytes: number | null, extra: Partial<MemberRow> = {}): MemberRow => ({
  state,
  outcome: undefined,
  receivedBytes,
  totalBytes,
  finishedOn: 0,
  ...extra,
});

describe('summarizeMembers', () => {
  it('is running while any member can still change, and expects the sizes origins announced', () => {
    const summary = summarizeMembers([row('completed', 10, 10, { finishedOn: 5 }), row('active', 3, 20), row('queued', 0, null)], false);
    expect(summary.state).toBe('running');
    expect(summary.ended).toBe(false);
    expect(summary.counts).toMatchObject({ completed: 1, active: 1, queued: 1 });
    expect(summary.bytes).toEqual({ received: 13, expected: null });
  });

  it('ends completed_with_failures when a member failed, expecting no more bytes from it', () => {
    const summary = summarizeMembers([row('completed', 10, 10, { finishedOn: 7 }), row('failed', 4, 50, { finishedOn: 9 })], false);
    expect(summary).toMatchObject({ state: 'completed_with_failures', ended: true, lastFinishedOn: 9, bytes: { received: 14, expected: 14 } });
  });

  it('judges expired members by the outcome recorded when they ended', () => {
    const kept = row('expired', 0, null, { outcome: { state: 'completed', bytes: 8 } });
    expect(summarizeMembers([kept, row('completed', 2, 2)], false)).toMatchObject({
      state: 'completed',
      counts: { expired: 1, completed: 1 },
      bytes: { received: 10, expected: 10 },
    });
    const lost = row('expired', 0, null);
    expect(summarizeMembers([lost], false).state).toBe('completed_with_failures');
  });

  it('is cancelled once cancelled, even while members are still being stopped', () => {
    expect(summarizeMembers([row('active', 1, 2), row('cancelled', 0, null)], true)).toMatchObject({ state: 'cancelled', ended: false });
  });
});
