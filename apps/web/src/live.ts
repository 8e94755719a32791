import { ENDED_STATES } from '@ferry/contract';
import type { BatchProgressEvent, DownloadEvent, FerryClient } from '@ferry/client';
import type { DownloadStore } from './store.js';

/**
 * A browser opens at most 6 HTTP/1.1 connections to one host, and each event stream holds one:
 * this many streams leave room for the list reads and the buttons' requests.
 */
const MAX_STREAMS = 4;
/** How often the list is read again while something unfinished is not followed by a stream. */
const POLL_MS = 3000;
/** The largest list the page loads: 10 pages of the API's largest page. */
const MAX_PAGES = 10;

type Target = { readonly kind: 'batch' | 'download'; readonly id: string };

/**
 * Keeps the store in step with the API: the whole list on start (so it survives a reload), the
 * event streams of the newest unfinished batches and downloads for live progress, and a slow
 * re-read of the list for whatever no stream follows (or that another client added).
 */
export class LiveDownloads {
  readonly #streams = new Map<string, AbortController>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #reading: Promise<void> | undefined;

  constructor(
    private readonly client: FerryClient,
    private readonly store: DownloadStore,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): Promise<void> {
    return this.refresh();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const controller of this.#streams.values()) controller.abort();
    this.#streams.clear();
  }

  /** Reads the list now (one read at a time), then follows what it holds. */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  /** A download whose state a button just changed: its stream (or its batch's) is (re)opened if it is not followed. */
  follow(id: string): void {
    const row = this.store.get(id);
    if (row !== undefined && !this.#isFollowed(row.id, row.batchId)) this.#reconcile();
  }

  async #read(): Promise<void> {
    try {
      const items = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const list = await this.client.list({ limit: 1000, cursor });
        items.push(...list.items);
        if (list.nextCursor === null) break;
        cursor = list.nextCursor;
      }
      if (this.#stopped) return;
      this.store.replaceAll(items, (id) => {
        const row = this.store.get(id);
        return row !== undefined && this.#isFollowed(id, row.batchId);
      });
    } catch (err) {
      this.onError(err);
    }
    this.#reconcile();
  }

  #isFollowed(id: string, batchId: string | null): boolean {
    return this.#streams.has(`download:${id}`) || (batchId !== null && this.#streams.has(`batch:${batchId}`));
  }

  /** Opens streams for the newest unfinished targets, closes the ones no longer wanted, and plans the next read. */
  #reconcile(): void {
    if (this.#stopped) return;
    const wanted: Target[] = [];
    const seen = new Set<string>();
    let unfollowed = false;
    for (const row of this.store.rows) {
      if (ENDED_STATES.has(row.state)) continue;
      const target: Target = row.batchId === null ? { kind: 'download', id: row.id } : { kind: 'batch', id: row.batchId };
      const key = `${target.kind}:${target.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (wanted.length < MAX_STREAMS) wanted.push(target);
      else unfollowed = true;
    }
    const keys = new Set(wanted.map((target) => `${target.kind}:${target.id}`));
    for (const [key, controller] of this.#streams) {
      if (!keys.has(key)) {
        controller.abort();
        this.#streams.delete(key);
      }
    }
    for (const target of wanted) {
      const key = `${target.kind}:${target.id}`;
      if (!this.#streams.has(key)) this.#open(key, target);
    }
    clearTimeout(this.#timer);
    if (unfollowed || this.store.rows.some((row) => row.state === 'delayed' || row.state === 'paused'))
      this.#timer = setTimeout(() => void this.refresh(), POLL_MS);
  }

  #open(key: string, target: Target): void {
    const controller = new AbortController();
    this.#streams.set(key, controller);
    const events: AsyncGenerator<DownloadEvent | BatchProgressEvent> =
      target.kind === 'batch'
        ? this.client.batchEvents(target.id, { signal: controller.signal })
        : this.client.events(target.id, { signal: controller.signal });
    void (async () => {
      try {
        for await (const event of events) {
          if (event.type === 'batch') continue;
          this.store.apply(event);
          // A state event says "delayed" but not why: the status has the failed attempt's reason.
          if (event.type === 'state' && event.state === 'delayed') void this.#reason(event.id, controller.signal);
        }
      } catch (err) {
        if (!controller.signal.aborted) this.onError(err);
      } finally {
        if (this.#streams.get(key) === controller) {
          this.#streams.delete(key);
          // The stream ended: read the list once, so the rows hold the final statuses, then follow what is left.
          if (!controller.signal.aborted) void this.refresh();
        }
      }
    })();
  }

  async #reason(id: string, signal: AbortSignal): Promise<void> {
    try {
      this.store.upsert(await this.client.get(id, { signal }));
    } catch {
      // The row keeps its state; the next list read brings the reason.
    }
  }
}
