/** The top of the app: log in, or resume the stored session and chat. */
import { useEffect, useState } from 'preact/hooks';
import type { ParleyClient } from '../../sdk/src/index.js';
import { Chat } from './chat.js';
import { Login } from './login.js';
import { createClient, currentUser, fetchAuthMode, forget, hasSession, logIn, type AuthMode } from './session.js';

type Phase =
  | { kind: 'boot' }
  | { kind: 'login'; mode: AuthMode; notice?: string }
  | { kind: 'chat'; mode: AuthMode; client: ParleyClient; username: string };

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'boot' });

  useEffect(() => {
    void (async () => {
      const mode = await fetchAuthMode();
      const user = currentUser();
      if (!user || !hasSession(user)) {
        setPhase({ kind: 'login', mode });
        return;
      }
      // A reload: show the app at once and resume the stored device in the background.
      const client = createClient({ username: user });
      setPhase({ kind: 'chat', mode, client, username: user });
      logIn(client).catch(() => {
        forget(user);
        setPhase({ kind: 'login', mode, notice: 'Your session has ended. Please log in again.' });
      });
    })();
  }, []);

  // Logged out from elsewhere (this device revoked, the password changed, the session expired).
  useEffect(() => {
    if (phase.kind !== 'chat') return;
    return phase.client.on('loggedOut', (e) => {
      forget(phase.username);
      const why = e.code === 'revoked' ? 'This device was logged out.' : e.code === 'logged_out' ? undefined : 'Your session has ended. Please log in again.';
      setPhase({ kind: 'login', mode: phase.mode, ...(why ? { notice: why } : {}) });
    });
  }, [phase]);

  switch (phase.kind) {
    case 'boot':
      return <p class="boot">Loading Parley…</p>;
    case 'login':
      return (
        <Login
          mode={phase.mode}
          notice={phase.notice}
          onLoggedIn={(client) => setPhase({ kind: 'chat', mode: phase.mode, client, username: client.user!.username })}
        />
      );
    case 'chat':
      return (
        <Chat
          key={phase.username}
          client={phase.client}
          username={phase.username}
          onLogout={() => {
            // Ends the session on the server too (a stolen copy of the token is worthless after).
            const { client, username } = phase;
            history.replaceState(null, '', location.pathname);
            setPhase({ kind: 'login', mode: phase.mode });
            client.logout().catch(() => client.close()).finally(() => forget(username));
            forget(username);
          }}
        />
      );
  }
}
