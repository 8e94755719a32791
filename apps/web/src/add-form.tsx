import { useMemo, useState } from 'preact/hooks';
import { FerryClientError, type BatchAccepted, type FerryClient } from '@ferry/client';
import { parseLines, type ParsedLine } from './parse-lines.js';

interface Props {
  readonly client: FerryClient;
  readonly onAdded: (batch: BatchAccepted) => void;
}

/** The API names a batch member's problem as `downloads.3.url`: this finds the pasted line it came from. */
function problemsByLine(err: FerryClientError, sent: readonly ParsedLine[]): Map<number, string[]> {
  const byLine = new Map<number, string[]>();
  for (const issue of err.issues ?? []) {
    const match = /^downloads\.(\d+)\.?(.*)$/.exec(issue.path);
    const line = match === null ? undefined : sent[Number(match[1])];
    if (line === undefined || match === null) continue;
    byLine.set(line.line, [...(byLine.get(line.line) ?? []), `${match[2] === '' ? '' : `${match[2]} `}${issue.message}`]);
  }
  return byLine;
}

export function AddForm({ client, onAdded }: Props) {
  const [text, setText] = useState('');
  const [priority, setPriority] = useState('');
  const [serverProblems, setServerProblems] = useState(new Map<number, string[]>());
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const defaults = useMemo(() => (/^\d+$/.test(priority) ? { priority: Number(priority) } : {}), [priority]);
  const lines = useMemo(() => parseLines(text, defaults), [text, defaults]);
  const good = lines.filter((line) => line.request !== undefined && !serverProblems.has(line.line));
  const bad = lines.flatMap((line) => {
    const problems = [...(line.problems ?? []), ...(serverProblems.get(line.line) ?? [])];
    return problems.length === 0 ? [] : [{ line, problems }];
  });
  const priorityProblem = priority !== '' && !/^[1-9]\d*$/.test(priority) ? 'priority must be a whole number, 1 (the highest) or more' : '';

  const edit = (value: string) => {
    setText(value);
    setServerProblems(new Map());
    setMessage('');
  };
  const readFile = async (file: File | undefined) => {
    if (file !== undefined) edit(`${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${await file.text()}`);
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    const sendable = good;
    if (sendable.length === 0 || priorityProblem !== '') return;
    setBusy(true);
    setMessage('');
    try {
      const batch = await client.enqueueBatch({ downloads: sendable.map((line) => line.request!) });
      // What was sent is gone from the box; the lines still to fix stay.
      const kept = new Set(lines.filter((line) => line.request === undefined).map((line) => line.line));
      setText(
        text
          .split(/\r\n|\r|\n/)
          .filter((_, index) => kept.has(index + 1))
          .join('\n'),
      );
      setMessage(`Added ${batch.size} download${batch.size === 1 ? '' : 's'} as one batch.`);
      onAdded(batch);
    } catch (err) {
      if (err instanceof FerryClientError && err.code === 'FERRY_ERR_VALIDATION' && (err.issues ?? []).some((issue) => issue.path.startsWith('downloads.'))) {
        setServerProblems(problemsByLine(err, sendable));
        setMessage('Nothing was added: the API refused the lines marked below. Fix or remove them and add again.');
      } else {
        setMessage(err instanceof FerryClientError ? `Nothing was added. ${err.code}: ${err.message}` : `Nothing was added: ${String(err)}`);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="add" aria-labelledby="add-title">
      <h2 id="add-title">Add downloads</h2>
      <form onSubmit={(e) => void submit(e)}>
        <label for="urls">URLs, one per line</label>
        <textarea
          id="urls"
          rows={6}
          spellcheck={false}
          value={text}
          aria-describedby="urls-help"
          aria-invalid={bad.length > 0}
          onInput={(e) => edit(e.currentTarget.value)}
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => {
            e.preventDefault();
            void readFile(e.dataTransfer?.files[0]);
          }}
        />
        <p id="urls-help" class="hint">
          Optionally after the URL, separated by spaces: a checksum such as <code>sha256:9f86d0…</code>, <code>filename=report.pdf</code>,{' '}
          <code>priority=1</code>. Lines starting with # are skipped. Drop a text file on the box, or choose one:
        </p>
        <div class="row-fields">
          <span>
            <label for="url-file">Text file of URLs</label>
            <input id="url-file" type="file" accept=".txt,.csv,.list,text/plain" onChange={(e) => void readFile(e.currentTarget.files?.[0])} />
          </span>
          <span>
            <label for="priority">Priority for lines without one</label>
            <input
              id="priority"
              inputMode="numeric"
              value={priority}
              placeholder="none"
              aria-invalid={priorityProblem !== ''}
              aria-describedby={priorityProblem === '' ? undefined : 'priority-problem'}
              onInput={(e) => setPriority(e.currentTarget.value.trim())}
            />
          </span>
        </div>
        {priorityProblem !== '' && (
          <p id="priority-problem" class="problem">
            {priorityProblem}
          </p>
        )}
        {bad.length > 0 && (
          <div class="bad-lines" role="region" aria-label="Lines to fix">
            <p class="problem">
              {bad.length} line{bad.length === 1 ? '' : 's'} will not be sent:
            </p>
            <ul>
              {bad.map(({ line, problems }) => (
                <li key={line.line}>
                  <span class="line-no">Line {line.line}</span> <code class="line-text">{line.text}</code>
                  <ul>
                    {problems.map((problem) => (
                      <li key={problem}>{problem}</li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
          </div>
        )}
        <div class="submit-row">
          <button type="submit" disabled={busy || good.length === 0 || priorityProblem !== ''}>
            {good.length === 0 ? 'Add downloads' : `Add ${good.length} download${good.length === 1 ? '' : 's'}`}
          </button>
          <p class="status" role="status">
            {message}
          </p>
        </div>
      </form>
    </section>
  );
}
