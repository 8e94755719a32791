import { useEffect, useState } from 'preact/hooks';
import type { DownloadStore } from './store.js';

/** Re-renders the caller once per frame in which the store changed. */
export function useRows(store: DownloadStore) {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion((v) => v + 1)), [store]);
  return store.rows;
}
