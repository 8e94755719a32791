import type { z } from 'zod';
import {
  BatchAccepted,
  BatchProgressEvent,
  BatchStatus,
  DownloadAccepted,
  DownloadEvent,
  DownloadList,
  DownloadStatus,
  ENDED_STATES,
  type BatchRequest,
  type DownloadRequest,
  type DownloadState,
  type DownloadResult,
} from '@ferry/contract';
import { abortedError } from './client-error.js';
import { eventStream, type StreamEvents } from './event-stream.js';
import { parseBody, send, unreachable, type SendOptions } from './http.js';
import { waitForDownload, type WaitOptions } from './wait.js';

export interface FerryClientOptions {
  /** Where Ferry's API is, e.g. `http://127.0.0.1:3000`; a path prefix (behind a proxy) is kept. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer …`; a key sees only its own downloads. */
  readonly apiKey: string;
  /** Defaults to the global `fetch`; pass another to add a dispatcher, logging or tracing. */
  readonly fetch?: typeof fetch;
  /**
   * How often `wait` asks for the status when the API serves no event stream.
   * @defaultValue 1000 (ms)
   */
  readonly pollIntervalMs?: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface EnqueueOptions extends CallOptions {
  /** Sent as the Idempotency-Key header: a retried enqueue with the same key and body answers the same download. */
  readonly idempotencyKey?: string;
}

/** What callers send; the server applies the schema's defaults and checks. */
export type DownloadRequestInput = z.input<typeof DownloadRequest>;
export type BatchRequestInput = z.input<typeof BatchRequest>;
/** The query of `GET /v1/downloads` (ListQuery): filter by state or batch, pages of `limit` (1-1000, default 100). */
export interface ListOptions extends CallOptions {
  readonly state?: DownloadState;
  readonly batch?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

/** A typed client of Ferry's HTTP API (README "Client and CLI"; routes and schemas in @ferry/contract). */
export class FerryClient {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;
  readonly #pollIntervalMs: number;

  constructor(options: FerryClientOptions) {
    this.baseUrl = options.baseUrl;
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
  }

  /** Enqueues one download: its id and state (`queued`, or `delayed` when it has a delay). */
  enqueue(request: DownloadRequestInput, options: EnqueueOptions = {}): Promise<DownloadAccepted> {
    const headers = options.idempotencyKey === undefined ? undefined : { 'idempotency-key': options.idempotencyKey };
    return this.#call('POST', 'v1/downloads', DownloadAccepted, { body: request, headers, signal: options.signal });
  }

  /** Enqueues all the downloads or, when any is invalid, none (FERRY_ERR_VALIDATION names them as `downloads.3.url`). */
  enqueueBatch(request: BatchRequestInput, options: CallOptions = {}): Promise<BatchAccepted> {
    return this.#call('POST', 'v1/batches', BatchAccepted, { body: request, signal: options.signal });
  }

  get(id: string, options: CallOptions = {}): Promise<DownloadStatus> {
    return this.#call('GET', downloadPath(id), DownloadStatus, options);
  }

  /** A batch with one page of its members (`limit`, `cursor` as in list). */
  getBatch(id: string, options: CallOptions & { limit?: number; cursor?: string } = {}): Promise<BatchStatus> {
    const query = queryString({ limit: options.limit, cursor: options.cursor });
    return this.#call('GET', `${batchPath(id)}${query}`, BatchStatus, options);
  }

  /** Cancels every member that has not ended; the batch answers with `state: "cancelled"`. */
  cancelBatch(id: string, options: CallOptions = {}): Promise<BatchStatus> {
    return this.#call('DELETE', batchPath(id), BatchStatus, options);
  }

  /** One page of the key's downloads, newest first; pass the page's `nextCursor` as `cursor` for the next. */
  list(options: ListOptions = {}): Promise<DownloadList> {
    const query = queryString({ state: options.state, batch: options.batch, limit: options.limit, cursor: options.cursor });
    return this.#call('GET', `v1/downloads${query}`, DownloadList, options);
  }

  /** State `cancelled` when done, or `active` while an active download is still being stopped. */
  cancel(id: string, options: CallOptions = {}): Promise<DownloadAccepted> {
    return this.#call('DELETE', downloadPath(id), DownloadAccepted, options);
  }

  /** State `paused` when done, or `active` while an active download is still being stopped. */
  pause(id: string, options: CallOptions = {}): Promise<DownloadAccepted> {
    return this.#call('POST', `${downloadPath(id)}/pause`, DownloadAccepted, options);
  }

  resume(id: string, options: CallOptions = {}): Promise<DownloadAccepted> {
    return this.#call('POST', `${downloadPath(id)}/resume`, DownloadAccepted, options);
  }

  /** Starts a failed or cancelled download again, with its full number of attempts. */
  retry(id: string, options: CallOptions = {}): Promise<DownloadAccepted> {
    return this.#call('POST', `${downloadPath(id)}/retry`, DownloadAccepted, options);
  }

  /**
   * The completed file's bytes (`GET /v1/downloads/{id}/content`) as the answer to read: `body` streams them,
   * `Content-Type` and `Content-Disposition` (the stored name) come with it. FERRY_ERR_NOT_READY before it completed.
   */
  content(id: string, options: CallOptions = {}): Promise<Response> {
    return send(this.#fetch, this.baseUrl, this.#apiKey, 'GET', `${downloadPath(id)}/content`, { signal: options.signal, headers: { accept: '*/*' } });
  }

  /**
   * The download's events as they happen: first a `state` snapshot, then `progress`, and last
   * `completed`, `failed` or `cancelled`. A dropped stream is reopened (each reopening starts
   * with a new snapshot); the iteration ends after the last event.
   */
  events(id: string, options: CallOptions = {}): AsyncGenerator<DownloadEvent> {
    return eventStream(this.#stream(`${downloadPath(id)}/events`, options.signal), DOWNLOAD_EVENTS);
  }

  /**
   * The events of every member of a batch, and a `batch` event after each member ends; the last one has the batch's final state.
   * Each (re)opened stream starts with every member as it is, as `events` would start for it, then a `batch` event.
   */
  batchEvents(id: string, options: CallOptions = {}): AsyncGenerator<DownloadEvent | BatchProgressEvent> {
    return eventStream(this.#stream(`${batchPath(id)}/events`, options.signal), BATCH_EVENTS);
  }

  /**
   * Resolves with the result once the download completed; rejects with a FerryClientError
   * carrying the failure's code when it failed, FERRY_ERR_CANCELLED when it was cancelled.
   * Follows the event stream (reopening it when it drops), or polls when the API has none.
   */
  wait(id: string, options: WaitOptions = {}): Promise<DownloadResult> {
    return waitForDownload(
      { id, events: (signal) => this.events(id, { signal }), get: (signal) => this.get(id, { signal }), pollIntervalMs: this.#pollIntervalMs },
      options,
    );
  }

  #stream(path: string, signal: AbortSignal | undefined) {
    return {
      signal,
      baseUrl: this.baseUrl,
      open: (lastEventId: string) =>
        send(this.#fetch, this.baseUrl, this.#apiKey, 'GET', path, {
          signal,
          headers: { accept: 'text/event-stream', ...(lastEventId === '' ? {} : { 'last-event-id': lastEventId }) },
        }),
    };
  }

  async #call<T>(method: string, path: string, schema: z.ZodType<T>, options: SendOptions): Promise<T> {
    const response = await send(this.#fetch, this.baseUrl, this.#apiKey, method, path, options);
    const text = await response.text().catch((err: unknown) => {
      throw options.signal?.aborted ? abortedError(options.signal) : unreachable(this.baseUrl, err);
    });
    return parseBody(schema, text, `the answer to ${method} /${path}`, response.status);
  }
}

function downloadPath(id: string): string {
  return `v1/downloads/${encodeURIComponent(id)}`;
}

function batchPath(id: string): string {
  return `v1/batches/${encodeURIComponent(id)}`;
}

function queryString(params: Record<string, string | number | undefined>): string {
  const defined = Object.entries(params).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
  return defined.length === 0 ? '' : `?${new URLSearchParams(defined.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}

const DOWNLOAD_EVENT_TYPES = DownloadEvent.options.map((option) => option.shape.type.value);
const isDownloadEnd = (event: DownloadEvent) => ENDED_STATES.has(event.type);

const DOWNLOAD_EVENTS: StreamEvents<DownloadEvent> = {
  schema: DownloadEvent,
  types: new Set(DOWNLOAD_EVENT_TYPES),
  isLast: isDownloadEnd,
  // A finished download's stream may close after its snapshot.
  isSettled: (event) => isDownloadEnd(event) || (event.type === 'state' && ENDED_STATES.has(event.state)),
};

const isBatchEnd = (event: DownloadEvent | BatchProgressEvent) => event.type === 'batch' && event.state !== 'running';
const BATCH_EVENTS: StreamEvents<DownloadEvent | BatchProgressEvent> = {
  schema: DownloadEvent.or(BatchProgressEvent),
  types: new Set([...DOWNLOAD_EVENT_TYPES, BatchProgressEvent.shape.type.value]),
  isLast: isBatchEnd,
  isSettled: isBatchEnd,
};
