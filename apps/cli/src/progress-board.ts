import type { DownloadResult, DownloadState, FerryClientError, ProgressEvent } from '@ferry/client';
import { formatBytes, formatDuration, shortName } from '@ferry/client';
import { fit } from './format.js';

export interface Terminal {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
  readonly rows?: number;
}

/** The states of a download that has not ended. */
type RunningState = Exclude<DownloadState, 'completed' | 'failed' | 'cancelled'>;

type Row =
  /** `progress` is the last report, kept while the download waits or is paused: the bytes it has stay true, its speed does not. */
  | { readonly kind: 'running'; readonly name: string; readonly state: RunningState; readonly progress: ProgressEvent | undefined }
  | { readonly kind: 'completed'; readonly name: string; readonly result: DownloadResult }
  | { readonly kind: 'failed'; readonly name: string; readonly error: FerryClientError };

const BAR_WIDTH = 24;
const NAME_WIDTH = 28;
/** Live redraws at most this often: smooth to the eye, cheap for the terminal. */
const REDRAW_MS = 100;
/** Without a terminal (a log, a pipe), a line per active download this often. */
const PLAIN_EVERY_MS = 2_000;
/** What a download that is not receiving bytes shows in place of its speed and ETA. */
const STATE_LABELS: Readonly<Record<RunningState, string>> = { queued: 'waiting', active: 'active', delayed: 'delayed', paused: 'paused' };
const isRunning = (state: DownloadState): state is RunningState => Object.hasOwn(STATE_LABELS, state);

/** Block characters where the locale is UTF-8 (as tqdm does), ASCII elsewhere. */
function barGlyphs(env: NodeJS.ProcessEnv): [string, string] {
  return /utf-?8/i.test(env.LC_ALL || env.LC_CTYPE || env.LANG || '') ? ['█', '░'] : ['#', '-'];
}

/**
 * One line per download (name, bar, percentage, bytes, speed, ETA). On a terminal
 * tall enough, the lines are redrawn in place with ANSI cursor movement; otherwise
 * plain lines are printed when a download starts, every few seconds, and when it ends.
 */
export class ProgressBoard {
  readonly #rows = new Map<string, Row>();
  readonly #out: Terminal;
  readonly #live: boolean;
  readonly #glyphs: [string, string];
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #lastPlain = new Map<string, number>();

  constructor(out: Terminal, downloads: ReadonlyArray<{ id: string; url: string }>, env: NodeJS.ProcessEnv) {
    this.#out = out;
    for (const { id, url } of downloads) this.#rows.set(id, { kind: 'running', name: shortName(url), state: 'queued', progress: undefined });
    this.#live = out.isTTY === true && downloads.length < (out.rows ?? 24) - 1;
    this.#glyphs = barGlyphs(env);
    if (this.#live) this.#draw();
  }

  /** A state before the end; an ended state waits for its result or error, and a row that has ended stays as it ended. */
  state(id: string, state: DownloadState): void {
    const row = this.#row(id);
    if (row.kind === 'running' && isRunning(state) && row.state !== state) this.#update(id, { ...row, state });
  }

  /** The bytes so far; the state events say whether it is still receiving them (a stream opens on a paused download with its bytes). */
  progress(id: string, progress: ProgressEvent): void {
    const row = this.#row(id);
    if (row.kind === 'running') this.#update(id, { ...row, progress });
  }

  completed(id: string, result: DownloadResult): void {
    this.#update(id, { kind: 'completed', name: result.filename, result });
  }

  failed(id: string, error: FerryClientError): void {
    this.#update(id, { kind: 'failed', name: this.#row(id).name, error });
  }

  /** Draws the final state; nothing is drawn after. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#live) this.#draw();
  }

  #row(id: string): Row {
    const row = this.#rows.get(id);
    if (row === undefined) throw new Error(`no download ${id} on the board`);
    return row;
  }

  #update(id: string, row: Row): void {
    this.#rows.set(id, row);
    if (this.#live) {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#draw();
      }, REDRAW_MS);
      return;
    }
    const last = this.#lastPlain.get(id);
    const now = Date.now();
    const report = row.kind === 'running' && row.state === 'active' && row.progress !== undefined;
    if (!report || last === undefined || now - last >= PLAIN_EVERY_MS) {
      this.#lastPlain.set(id, now);
      this.#out.write(`${this.#line(row)}\n`);
    }
  }

  #draw(): void {
    const width = Math.max(20, (this.#out.columns ?? 80) - 1);
    // Back to the first line of the board (CSI n F), then each line cleared (CSI 2K) and rewritten.
    let text = this.#drawn > 0 ? `\x1b[${this.#drawn}F` : '';
    for (const row of this.#rows.values()) text += `\x1b[2K${[...this.#line(row)].slice(0, width).join('')}\n`;
    this.#drawn = this.#rows.size;
    this.#out.write(text);
  }

  #bar(fraction: number): string {
    const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
    return `${this.#glyphs[0].repeat(filled)}${this.#glyphs[1].repeat(BAR_WIDTH - filled)}`;
  }

  #line(row: Row): string {
    const name = fit(row.name, NAME_WIDTH);
    switch (row.kind) {
      case 'completed':
        return `✓ ${name} ${this.#bar(1)} 100%  ${formatBytes(row.result.bytes)}  done`;
      case 'failed':
        return `✗ ${name} ${this.#bar(0)}    -  ${row.error.code}`;
      case 'running': {
        if (row.progress === undefined) return `  ${name} ${this.#bar(0)}    -  ${STATE_LABELS[row.state]}`;
        const { receivedBytes, totalBytes, bytesPerSecond, etaSeconds } = row.progress;
        const fraction = totalBytes ? receivedBytes / totalBytes : 0;
        const percent = totalBytes ? `${String(Math.floor(fraction * 100)).padStart(3)}%` : '   ?';
        const bytes = totalBytes ? `${formatBytes(receivedBytes)} / ${formatBytes(totalBytes)}` : formatBytes(receivedBytes);
        if (row.state !== 'active') return `  ${name} ${this.#bar(fraction)} ${percent}  ${bytes}  ${STATE_LABELS[row.state]}`;
        const speed = bytesPerSecond === null ? '' : `  ${formatBytes(bytesPerSecond)}/s`;
        const eta = etaSeconds === null ? '' : `  ETA ${formatDuration(etaSeconds)}`;
        return `  ${name} ${this.#bar(fraction)} ${percent}  ${bytes}${speed}${eta}`;
      }
    }
  }
}
