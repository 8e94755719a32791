/**
 * How the API's Node should be started. `--optimize-for-size` makes V8 collect
 * garbage sooner instead of growing the heap: loading the API alone takes about
 * 110 MB, and with V8's defaults the dead objects of 2,000-item batches pushed the
 * peak past 200 MB; with it the API is at about 100 MB when ready and 125 after ten
 * such batches (bench/enqueue-path.mjs). docker-compose.yml starts the API with the same flags.
 */
export const API_NODE_FLAGS: readonly string[] = ['--optimize-for-size'];
