import { Component } from 'preact';
import advice from 'virtual:failure-advice';
import { actionsFor, type Action } from './actions.js';
import { formatBytes, shortName } from '@ferry/client';
import { formatEta, formatSpeed } from './format.js';
import type { Row } from './rows.js';
import { canOpen } from './save-file.js';

export type RowCommand = Action | 'save' | 'open';

interface Props {
  readonly row: Row;
  readonly busy: boolean;
  readonly onCommand: (row: Row, command: RowCommand) => void;
}

const LABELS: Record<RowCommand, string> = { pause: 'Pause', resume: 'Resume', cancel: 'Cancel', retry: 'Retry', save: 'Save', open: 'Open' };

function progressText(row: Row): string {
  const total = row.totalBytes === null ? '' : ` of ${formatBytes(row.totalBytes)}`;
  return `${formatBytes(row.receivedBytes)}${total}`;
}

function nameOf(row: Row): string {
  return row.result?.filename ?? shortName(row.url);
}

/** One download; skipped by a render unless its Row object was replaced, which keeps 1,000 live rows cheap. */
export class DownloadRow extends Component<Props> {
  override shouldComponentUpdate(next: Props): boolean {
    return next.row !== this.props.row || next.busy !== this.props.busy || next.onCommand !== this.props.onCommand;
  }

  override render() {
    return <RowView {...this.props} />;
  }
}

function RowView({ row, busy, onCommand }: Props) {
  const name = nameOf(row);
  // Unknown size: an indeterminate bar while active, an empty one otherwise.
  const percent = row.totalBytes ? Math.min(100, Math.floor((row.receivedBytes / row.totalBytes) * 100)) : undefined;
  const commands: RowCommand[] = [
    ...actionsFor(row.state),
    ...(row.state === 'completed' ? (canOpen(row) ? (['open', 'save'] as const) : (['save'] as const)) : []),
  ];
  const showError = row.error !== null && (row.state === 'failed' || row.state === 'delayed');
  return (
    <li class={`download state-${row.state}`} data-id={row.id} data-state={row.state} aria-labelledby={`name-${row.id}`}>
      <div class="download-head">
        <span class="name" id={`name-${row.id}`}>
          {name}
        </span>
        <span class="badge" data-testid="state">
          {row.state}
        </span>
      </div>
      <div class="url" title={row.url}>
        {row.url}
      </div>
      <progress
        max={100}
        value={row.state === 'completed' ? 100 : (percent ?? (row.state === 'active' ? undefined : 0))}
        aria-label={`Progress of ${name}`}
        aria-valuetext={`${progressText(row)}${percent === undefined ? '' : ` (${percent} %)`}`}
      />
      <div class="numbers">
        <span class="bytes" data-testid="bytes" data-bytes={row.receivedBytes}>
          {progressText(row)}
        </span>
        {row.state === 'active' && <span class="speed">{formatSpeed(row.bytesPerSecond)}</span>}
        {row.state === 'active' && <span class="eta">{formatEta(row.etaSeconds)}</span>}
      </div>
      {showError && row.error !== null && (
        <div class="failure" data-testid="failure">
          <p>
            {row.state === 'delayed' ? 'Will retry after: ' : ''}
            <code class="code">{row.error.code}</code> {row.error.message}
          </p>
          {row.state === 'failed' && advice[row.error.code] !== undefined && <p class="advice">What to do: {advice[row.error.code]}</p>}
        </div>
      )}
      {commands.length > 0 && (
        <div class="actions">
          {/* Keyed by position: Pause turning into Resume is the same button, so keyboard focus stays on it. */}
          {commands.map((command, index) => (
            <button key={index} type="button" aria-disabled={busy} aria-label={`${LABELS[command]} ${name}`} onClick={() => busy || onCommand(row, command)}>
              {LABELS[command]}
            </button>
          ))}
        </div>
      )}
    </li>
  );
}
