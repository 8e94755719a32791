import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ErrorCode } from '@ferry/contract';
import { DOWNLOAD_SECONDS_BUCKETS, QUEUE_WAIT_SECONDS_BUCKETS } from './buckets.js';

/**
 * What a worker counts about the downloads it runs. Every label is bounded: `outcome`
 * by the few listed here, `code` by the error table in @ferry/contract (a failure
 * whose code is not in it is counted as FERRY_ERR_INTERNAL, as its status shows it).
 * No job id, URL, host or API key is a label: each would add series without bound.
 */
export class DownloadMetrics {
  readonly #finished: Counter<'outcome' | 'code'>;
  readonly #attempts: Counter<'outcome'>;
  readonly #retries: Counter<'code'>;
  readonly #received: Counter;
  readonly #duration: Histogram<'outcome'>;
  readonly #queueWait: Histogram;
  readonly #active: Gauge;

  constructor(registry: Registry, slots: number) {
    const registers = [registry];
    this.#finished = new Counter({
      name: 'ferry_downloads_finished_total',
      help: 'Downloads that ended for good on this worker, by outcome (completed, failed, cancelled) and, unless completed, error code.',
      labelNames: ['outcome', 'code'],
      registers,
    });
    this.#attempts = new Counter({
      name: 'ferry_download_attempts_total',
      help: 'Download attempts that ended on this worker, by outcome (completed or failed); a paused, handed-back or taken-over attempt is none.',
      labelNames: ['outcome'],
      registers,
    });
    this.#retries = new Counter({
      name: 'ferry_download_retries_total',
      help: 'Failed download attempts after which the download runs again, by error code.',
      labelNames: ['code'],
      registers,
    });
    this.#received = new Counter({
      name: 'ferry_download_received_bytes_total',
      help: 'Body bytes downloads received from origins on this worker, counted in each attempt (resumed bytes are not counted again).',
      registers,
    });
    this.#duration = new Histogram({
      name: 'ferry_download_attempt_duration_seconds',
      help: 'How long a download attempt ran on this worker, by outcome (completed or failed).',
      labelNames: ['outcome'],
      buckets: [...DOWNLOAD_SECONDS_BUCKETS],
      registers,
    });
    this.#queueWait = new Histogram({
      name: 'ferry_download_queue_wait_seconds',
      help: 'How long a download waited from being accepted (or its notBefore time) until its first attempt started.',
      buckets: [...QUEUE_WAIT_SECONDS_BUCKETS],
      registers,
    });
    this.#active = new Gauge({ name: 'ferry_downloads_active', help: 'Downloads this worker is running now.', registers });
    new Gauge({ name: 'ferry_worker_download_slots', help: 'Downloads this worker may run at once (FERRY_WORKER_CONCURRENCY).', registers }).set(slots);
    // Series that exist from the start, so rate() and increase() see their first change.
    this.#finished.inc({ outcome: 'completed' }, 0);
    for (const outcome of ['completed', 'failed']) this.#attempts.inc({ outcome }, 0);
  }

  /** An attempt started; `queueWaitSeconds` is given for a download's first attempt only. */
  started(queueWaitSeconds: number | undefined): void {
    this.#active.inc();
    if (queueWaitSeconds !== undefined) this.#queueWait.observe(Math.max(0, queueWaitSeconds));
  }

  /** The processor let go of the attempt, however it ended. */
  stopped(): void {
    this.#active.dec();
  }

  received(bytes: number): void {
    if (bytes > 0) this.#received.inc(bytes);
  }

  completed(durationSeconds: number): void {
    this.#attempts.inc({ outcome: 'completed' });
    this.#duration.observe({ outcome: 'completed' }, durationSeconds);
    this.#finished.inc({ outcome: 'completed' });
  }

  /** A failed attempt; `final` when BullMQ will not run the download again. */
  failed(code: ErrorCode, final: boolean, durationSeconds: number): void {
    this.#attempts.inc({ outcome: 'failed' });
    this.#duration.observe({ outcome: 'failed' }, durationSeconds);
    if (!final) this.#retries.inc({ code });
    else this.#finished.inc({ outcome: code === 'FERRY_ERR_CANCELLED' ? 'cancelled' : 'failed', code });
  }
}
