export { createDownloadWorker, type DownloadWorkerDeps } from './create-worker.js';
export { createProcessor, SHUTDOWN_REASON, type ProcessorDeps } from './processor.js';
export { WORKER_NODE_FLAGS } from './node-flags.js';
