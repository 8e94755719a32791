import { DownloadState } from '@ferry/contract';
import { formatBytes } from '@ferry/client';
import type { Row } from './rows.js';

/** Counts and bytes of the rows in view, like a downloader's "12 done, 1 failed" line; each number is also a filter. */
export function Summary({ rows, title }: { rows: readonly Row[]; title: string }) {
  const counts = new Map<string, number>();
  let received = 0;
  let expected = 0;
  let sizesKnown = true;
  for (const row of rows) {
    counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
    received += row.receivedBytes;
    if (row.totalBytes === null) sizesKnown = false;
    else expected += row.totalBytes;
  }
  const ended = (counts.get('completed') ?? 0) + (counts.get('failed') ?? 0) + (counts.get('cancelled') ?? 0);
  return (
    <section class="summary" aria-labelledby="summary-title" data-testid="summary">
      <h2 id="summary-title">{title}</h2>
      <p class="totals">
        <span data-testid="ended">
          {ended} of {rows.length} ended
        </span>
        {' · '}
        <span data-testid="summary-bytes">
          {formatBytes(received)}
          {sizesKnown && rows.length > 0 ? ` of ${formatBytes(expected)}` : ''}
        </span>
      </p>
      <dl class="counts">
        {DownloadState.options.map((state) => (
          <div key={state} class={`count state-${state}`} data-testid={`count-${state}`}>
            <dt>{state}</dt>
            <dd>{counts.get(state) ?? 0}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
