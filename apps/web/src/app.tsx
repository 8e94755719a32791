import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { DownloadState } from '@ferry/contract';
import { FerryClientError, type FerryClient } from '@ferry/client';
import { runOnAll, run, type Action } from './actions.js';
import { AddForm } from './add-form.js';
import { DownloadRow, type RowCommand } from './download-row.js';
import { LiveDownloads } from './live.js';
import type { Row } from './rows.js';
import { saveFile } from './save-file.js';
import { DownloadStore } from './store.js';
import { Summary } from './summary.js';
import { useRows } from './use-store.js';

const BATCH_ACTIONS: ReadonlyArray<readonly [Action, string]> = [
  ['pause', 'Pause batch'],
  ['resume', 'Resume batch'],
  ['retry', 'Retry failed and cancelled'],
  ['cancel', 'Cancel batch'],
];

const messageOf = (err: unknown) => (err instanceof FerryClientError ? `${err.code}: ${err.message}` : String(err));

export function App({ client, onSignOut }: { client: FerryClient; onSignOut: () => void }) {
  const store = useMemo(() => new DownloadStore(), []);
  const [notice, setNotice] = useState('');
  const live = useMemo(() => new LiveDownloads(client, store, (err) => setNotice(messageOf(err))), [client, store]);
  const [loaded, setLoaded] = useState(false);
  const [stateFilter, setStateFilter] = useState('');
  const [batchFilter, setBatchFilter] = useState('');
  const [search, setSearch] = useState('');
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const rows = useRows(store);

  useEffect(() => {
    void live.start().then(() => setLoaded(true));
    return () => live.stop();
  }, [live]);

  const batches = useMemo(() => [...new Set(rows.flatMap((row) => (row.batchId === null ? [] : [row.batchId])))], [rows]);
  const inBatch = useMemo(() => (batchFilter === '' ? rows : rows.filter((row) => row.batchId === batchFilter)), [rows, batchFilter]);
  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return inBatch.filter((row) => (stateFilter === '' || row.state === stateFilter) && (needle === '' || row.url.toLowerCase().includes(needle)));
  }, [inBatch, stateFilter, search]);

  const setRowBusy = (id: string, on: boolean) =>
    setBusy((current) => {
      const next = new Set(current);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });

  const runCommand = useCallback(
    async (row: Row, command: RowCommand) => {
      setRowBusy(row.id, true);
      try {
        if (command === 'save' || command === 'open') {
          await saveFile(client, row, command);
        } else {
          const answer = await run(client, command, row.id);
          const { state } = answer;
          if (state !== 'expired')
            store.update(row.id, (current) => ({ ...current, state, ...(command === 'retry' ? { error: null, receivedBytes: 0 } : {}) }));
          live.follow(row.id);
          setNotice(`${command}: ${row.url} is ${answer.state}`);
        }
      } catch (err) {
        setNotice(messageOf(err));
      } finally {
        setRowBusy(row.id, false);
      }
    },
    [client, store, live],
  );
  // One function for every row, so a row whose download did not change is skipped by the render.
  const onCommand = useCallback((row: Row, command: RowCommand) => void runCommand(row, command), [runCommand]);

  const onBatch = async (action: Action) => {
    setNotice(`${action}: working on the batch…`);
    try {
      if (action === 'cancel') await client.cancelBatch(batchFilter);
      else await runOnAll(client, action, inBatch, (id, state) => state !== 'expired' && store.update(id, (row) => ({ ...row, state })));
      setNotice(`${action}: done for the batch`);
    } catch (err) {
      setNotice(messageOf(err));
    }
    await live.refresh();
  };

  return (
    <>
      <header class="top">
        <h1>Ferry</h1>
        <nav aria-label="Other pages">
          <a href="docs">API docs</a>
        </nav>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>
        <AddForm
          client={client}
          onAdded={(batch) => {
            setBatchFilter(batch.id);
            void live.refresh();
          }}
        />
        <Summary rows={inBatch} title={batchFilter === '' ? 'All downloads' : 'This batch'} />
        <section class="list" aria-labelledby="list-title">
          <h2 id="list-title">Downloads</h2>
          <div class="filters" role="search">
            <span>
              <label for="filter-state">State</label>
              <select id="filter-state" value={stateFilter} onChange={(e) => setStateFilter(e.currentTarget.value)}>
                <option value="">any</option>
                {DownloadState.options.map((state) => (
                  <option key={state} value={state}>
                    {state}
                  </option>
                ))}
              </select>
            </span>
            <span>
              <label for="filter-batch">Batch</label>
              <select id="filter-batch" value={batchFilter} onChange={(e) => setBatchFilter(e.currentTarget.value)}>
                <option value="">all downloads</option>
                {batches.map((id, index) => (
                  <option key={id} value={id}>
                    {index === 0 ? 'newest batch' : `batch ${batches.length - index}`} ({id.slice(0, 8)})
                  </option>
                ))}
              </select>
            </span>
            <span class="grow">
              <label for="filter-search">Search URL or host</label>
              <input id="filter-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
            </span>
          </div>
          {batchFilter !== '' && (
            <div class="batch-actions" role="group" aria-label="Whole batch">
              {BATCH_ACTIONS.map(([action, label]) => (
                <button key={action} type="button" onClick={() => void onBatch(action)}>
                  {label}
                </button>
              ))}
            </div>
          )}
          <p class="status" role="status" data-testid="notice">
            {notice}
          </p>
          <p class="shown">{loaded ? `${shown.length} shown of ${rows.length}` : 'Loading…'}</p>
          <ul class="downloads" data-testid="downloads">
            {shown.map((row) => (
              <DownloadRow key={row.id} row={row} busy={busy.has(row.id)} onCommand={onCommand} />
            ))}
          </ul>
        </section>
      </main>
    </>
  );
}
