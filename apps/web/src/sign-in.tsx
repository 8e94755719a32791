import { useState } from 'preact/hooks';
import { FerryClientError } from '@ferry/client';
import { clientFor } from './session.js';

export function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem('');
    try {
      // A cheap authenticated read proves the key before the page uses it.
      await clientFor(key.trim()).list({ limit: 1 });
      onSignedIn(key.trim());
    } catch (err) {
      setProblem(err instanceof FerryClientError ? `${err.code}: ${err.message}` : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Ferry</h1>
      <form onSubmit={(e) => void submit(e)} aria-describedby="key-help">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-invalid={problem !== ''}
          aria-describedby={problem === '' ? 'key-help' : 'key-problem'}
        />
        <p id="key-help" class="hint">
          <code>npm start</code> prints a development key; operators make keys with <code>npm run api-key -- NAME</code>. It is kept in this tab only, until you
          close it or sign out.
        </p>
        {problem !== '' && (
          <p id="key-problem" class="problem" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
