/**
 * How the worker's Node should be started. A 2 MiB young generation lets V8
 * free a download's spent 64 KiB socket chunks sooner: peak RSS drops by about
 * 20 MB at the same speed (bench/README.md, --node-flag); 1 MiB costs speed.
 * docker-compose.yml starts workers with the same flags.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
