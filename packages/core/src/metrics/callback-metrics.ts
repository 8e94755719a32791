import { Counter, type Registry } from 'prom-client';

const OUTCOMES = ['delivered', 'retried', 'failed'] as const;
export type CallbackOutcome = (typeof OUTCOMES)[number];

/** Completion-callback deliveries a worker made. The receiver's URL is no label: there is one per caller's choice. */
export class CallbackMetrics {
  readonly #deliveries: Counter<'outcome'>;

  constructor(registry: Registry) {
    this.#deliveries = new Counter({
      name: 'ferry_callback_deliveries_total',
      help: 'Callback delivery attempts on this worker, by outcome: delivered (2xx), retried (failed, tried again later) or failed (failed for good).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    // Present from the start, so increase() sees the first failure.
    for (const outcome of OUTCOMES) this.#deliveries.inc({ outcome }, 0);
  }

  record(outcome: CallbackOutcome): void {
    this.#deliveries.inc({ outcome });
  }
}
