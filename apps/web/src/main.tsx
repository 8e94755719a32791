import { render } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { App } from './app.js';
import { clientFor, forgetKey, saveKey, savedKey } from './session.js';
import { SignIn } from './sign-in.js';
import './style.css';

function Root() {
  const [key, setKey] = useState(savedKey);
  const client = useMemo(() => (key === null ? undefined : clientFor(key)), [key]);
  if (client === undefined)
    return (
      <SignIn
        onSignedIn={(value) => {
          saveKey(value);
          setKey(value);
        }}
      />
    );
  return (
    <App
      client={client}
      onSignOut={() => {
        forgetKey();
        setKey(null);
      }}
    />
  );
}

render(<Root />, document.getElementById('app')!);
