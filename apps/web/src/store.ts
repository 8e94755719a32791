import type { DownloadEvent, DownloadStatus } from '@ferry/client';
import { applyEvent, differs, rowOf, type Row } from './rows.js';

const newestFirst = (a: Row, b: Row): number => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? 1 : -1);

/**
 * Every download the key has, by id, newest first. Changes are gathered and announced once per
 * animation frame: a burst of progress events over 1,000 rows costs one render, not one per event.
 */
export class DownloadStore {
  #rows = new Map<string, Row>();
  #order: Row[] = [];
  #listeners = new Set<() => void>();
  #scheduled = false;
  #dirtyOrder = false;

  /** Sorted when first read after a change: once per frame at most, however many events came. */
  get rows(): readonly Row[] {
    if (this.#dirtyOrder) {
      // A batch's members share one createdAt: the id breaks the tie, so rows never trade places between reads.
      this.#order = [...this.#rows.values()].sort(newestFirst);
      this.#dirtyOrder = false;
    }
    return this.#order;
  }

  get(id: string): Row | undefined {
    return this.#rows.get(id);
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The API's list as it is now: new rows are added, changed ones replaced, and rows it no longer has (retention) dropped. */
  replaceAll(statuses: readonly DownloadStatus[], keep: (id: string) => boolean): void {
    const next = new Map<string, Row>();
    for (const status of statuses) {
      const row = this.#rows.get(status.id);
      // A row a stream follows has fresher news (and a speed) than a list read a moment ago.
      next.set(status.id, row !== undefined && (keep(status.id) || !differs(row, status)) ? row : rowOf(status));
    }
    this.#rows = next;
    this.#dirtyOrder = true;
    this.#changed();
  }

  upsert(status: DownloadStatus): void {
    const row = this.#rows.get(status.id);
    if (row !== undefined && !differs(row, status)) return;
    if (row === undefined) this.#dirtyOrder = true;
    this.#rows.set(status.id, rowOf(status));
    this.#replaced();
  }

  apply(event: DownloadEvent): void {
    const row = this.#rows.get(event.id);
    if (row === undefined) return;
    this.#rows.set(event.id, applyEvent(row, event));
    this.#replaced();
  }

  update(id: string, change: (row: Row) => Row): void {
    const row = this.#rows.get(id);
    if (row === undefined) return;
    this.#rows.set(id, change(row));
    this.#replaced();
  }

  #replaced(): void {
    this.#dirtyOrder = true;
    this.#changed();
  }

  #changed(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    requestAnimationFrame(() => {
      this.#scheduled = false;
      for (const listener of this.#listeners) listener();
    });
  }
}
