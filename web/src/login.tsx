/** The login form: a username, and in password mode a password and "Create account". */
import { useRef, useState } from 'preact/hooks';
import type { ParleyClient, ParleyError } from '../../sdk/src/index.js';
import { createClient, forget, logIn, remember, type AuthMode } from './session.js';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;

export function Login(props: { mode: AuthMode; notice?: string | undefined; onLoggedIn(client: ParleyClient): void }) {
  const [error, setError] = useState<string | undefined>(props.notice);
  const [waiting, setWaiting] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const password = props.mode === 'password';

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const data = new FormData(form.current!);
    const username = String(data.get('username') ?? '').trim();
    const register = (e.submitter as HTMLButtonElement | null)?.value === 'register';
    if (!USERNAME.test(username)) {
      setError('A username has 3 to 32 letters, digits, ".", "_" or "-", and starts with a letter or digit.');
      return;
    }
    const pw = password ? String(data.get('password') ?? '') : undefined;
    if (password && !pw) {
      setError('Enter your password.');
      return;
    }
    setBusy(true);
    setError(undefined);
    // Logging in from the form is a new device: no stale session of an earlier login is resumed.
    forget(username);
    const client = createClient({ username, ...(pw !== undefined ? { password: pw, register } : {}) });
    try {
      await logIn(client, setWaiting);
      remember(client.user!.username);
      props.onLoggedIn(client);
    } catch (err) {
      const e2 = err as ParleyError;
      setError(e2.code === 'unauthorized' && password ? 'Wrong username or password.' : e2.message);
      setWaiting(undefined);
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form ref={form} class="login-card" onSubmit={submit} aria-labelledby="login-title" noValidate>
        <div class="logo" aria-hidden="true">P</div>
        <h1 id="login-title">Parley</h1>
        <p class="muted">{password ? 'Log in or create an account to chat.' : 'Pick a username to start chatting.'}</p>
        <label for="login-username">Username</label>
        <input
          id="login-username" name="username" autoComplete="username" autoCapitalize="none" spellcheck={false}
          required minLength={3} maxLength={32} autoFocus disabled={busy}
        />
        {password && (
          <>
            <label for="login-password">Password</label>
            <input id="login-password" name="password" type="password" autoComplete="current-password" required disabled={busy} />
          </>
        )}
        {error && <p class="error" role="alert">{error}</p>}
        {waiting && busy && <p class="muted" role="status">{waiting}</p>}
        <button type="submit" class="primary" value="login" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
        {password && <button type="submit" class="secondary" value="register" disabled={busy}>Create account</button>}
      </form>
    </main>
  );
}
