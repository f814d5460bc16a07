/** Dialogs: a new direct chat, a new group, a group's members and admin actions, your account. Escape closes each. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ConversationView, ParleyClient, ParleyError } from '../../sdk/src/index.js';
import { Avatar } from './avatar.js';
import type { Ctx } from './chat.js';
import { fullDate, lastSeen } from './format.js';
import { CloseIcon } from './icons.js';
import { useModal } from './modal.js';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;

type DeviceInfo = Awaited<ReturnType<ParleyClient['devices']>>[number];

/** A modal on the platform's <dialog>: focus moves in, Escape closes, focus returns to where it was. */
function Modal(props: { title: string; onClose(): void; children: ComponentChildren }) {
  const { ref, close } = useModal(props.onClose);
  return (
    <dialog ref={ref} class="modal" aria-labelledby="modal-title" onClose={close} onCancel={close}>
      <header class="modal-head">
        <h2 id="modal-title">{props.title}</h2>
        <button type="button" class="icon" onClick={close} aria-label="Close" title="Close (Escape)">
          <CloseIcon />
        </button>
      </header>
      {props.children}
    </dialog>
  );
}

function names(raw: string): string[] {
  return [...new Set(raw.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean))];
}

export function NewChatDialog(props: { me: string; onClose(): void; onStart(user: string): void }) {
  const [error, setError] = useState<string>();
  return (
    <Modal title="New chat" onClose={props.onClose}>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          const user = String(new FormData(e.currentTarget).get('user') ?? '').trim();
          if (!USERNAME.test(user)) return setError('Enter a username (3 to 32 letters, digits, ".", "_" or "-").');
          props.onStart(user);
        }}
      >
        <label for="new-chat-user">Username</label>
        <input id="new-chat-user" name="user" autoComplete="off" autoCapitalize="none" spellcheck={false} autoFocus required />
        {error && <p class="error" role="alert">{error}</p>}
        <div class="row end">
          <button type="button" class="secondary" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="primary">Start chat</button>
        </div>
      </form>
    </Modal>
  );
}

export function NewGroupDialog(props: { client: ParleyClient; onClose(): void; onCreated(id: string): void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <Modal title="New group" onClose={props.onClose}>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          const title = String(data.get('title') ?? '').trim();
          const members = names(String(data.get('members') ?? ''));
          if (!title) return setError('Give the group a name.');
          const bad = members.find((m) => !USERNAME.test(m));
          if (bad) return setError(`"${bad}" is not a username.`);
          setBusy(true);
          props.client.createGroup(title, members).then(
            (g) => props.onCreated(g.id),
            (err: ParleyError) => {
              setBusy(false);
              setError(err.message);
            },
          );
        }}
      >
        <label for="new-group-title">Group name</label>
        <input id="new-group-title" name="title" maxLength={100} autoFocus required />
        <label for="new-group-members">Members</label>
        <input id="new-group-members" name="members" autoComplete="off" autoCapitalize="none" spellcheck={false} aria-describedby="new-group-hint" />
        <span id="new-group-hint" class="muted small">Usernames, separated by commas or spaces.</span>
        {error && <p class="error" role="alert">{error}</p>}
        <div class="row end">
          <button type="button" class="secondary" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy}>{busy ? 'Creating…' : 'Create group'}</button>
        </div>
      </form>
    </Modal>
  );
}

/** Members with presence; admins add, remove and rename; anyone may leave. */
export function GroupDialog(props: { ctx: Ctx; view: ConversationView; onClose(): void }) {
  const { ctx, view } = props;
  const { client, me, presence } = ctx;
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [confirmLeave, setConfirmLeave] = useState(false);
  const isMe = (u: string) => u.toLowerCase() === me.toLowerCase();
  const admin = view.admins.some(isMe) && !view.left;

  const run = (p: Promise<unknown>, after?: () => void) => {
    setBusy(true);
    setError(undefined);
    p.then(
      () => {
        setBusy(false);
        after?.();
      },
      (err: ParleyError) => {
        setBusy(false);
        setError(err.message);
      },
    );
  };

  const members = [...view.members].sort((a, b) => Number(isMe(b)) - Number(isMe(a)) || a.localeCompare(b));
  return (
    <Modal title={view.title} onClose={props.onClose}>
      {admin && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            const title = String(new FormData(e.currentTarget).get('title') ?? '').trim();
            if (title && title !== view.title) run(client.rename(view.id, title));
          }}
        >
          <label for="group-title" class="sr-only">Group name</label>
          <input id="group-title" name="title" defaultValue={view.title} maxLength={100} required />
          <button type="submit" class="secondary" disabled={busy}>Rename</button>
        </form>
      )}
      <h3>{view.members.length} members</h3>
      <ul class="members" aria-label="Members">
        {members.map((u) => {
          const p = presence.get(u);
          return (
            <li key={u} data-member={u}>
              <Avatar name={u} presence={isMe(u) ? { online: true } : p ?? { online: false }} size="small" />
              <span class="member-name">
                {u}
                {isMe(u) && <span class="muted"> (you)</span>}
                {view.admins.includes(u) && <span class="tag">admin</span>}
              </span>
              <span class="muted small">{isMe(u) || p?.online ? 'online' : lastSeen(p?.lastActiveAt)}</span>
              {admin && !isMe(u) && (
                <button type="button" class="link danger" disabled={busy} onClick={() => run(client.removeMember(view.id, u))} aria-label={`Remove ${u}`}>
                  Remove
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {admin && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const users = names(String(new FormData(form).get('users') ?? ''));
            const bad = users.find((m) => !USERNAME.test(m));
            if (bad) return setError(`"${bad}" is not a username.`);
            if (users.length) run(client.addMembers(view.id, users), () => form.reset());
          }}
        >
          <label for="group-add" class="sr-only">Add people</label>
          <input id="group-add" name="users" placeholder="Add people (usernames)" autoComplete="off" autoCapitalize="none" spellcheck={false} />
          <button type="submit" class="secondary" disabled={busy}>Add</button>
        </form>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {!view.left && (
        <div class="row end">
          {confirmLeave ? (
            <>
              <span>Leave “{view.title}”?</span>
              <button type="button" class="secondary" onClick={() => setConfirmLeave(false)}>Stay</button>
              <button type="button" class="danger" disabled={busy} onClick={() => run(client.leave(view.id), props.onClose)}>Leave</button>
            </>
          ) : (
            <button type="button" class="link danger" onClick={() => setConfirmLeave(true)}>Leave group</button>
          )}
        </div>
      )}
    </Modal>
  );
}

/** Your devices (log out any other one) and a new password (which logs out all the others). */
export function AccountDialog(props: { client: ParleyClient; onClose(): void }) {
  const { client } = props;
  const [devices, setDevices] = useState<DeviceInfo[] | undefined>();
  const [listError, setListError] = useState<string>();
  const [revoking, setRevoking] = useState<string>();
  const [pwBusy, setPwBusy] = useState(false);
  const [pwError, setPwError] = useState<string>();
  const [pwDone, setPwDone] = useState(false);

  const refresh = () =>
    client.devices().then(
      (list) => {
        setDevices(list);
        setListError(undefined);
      },
      (err: ParleyError) => setListError(err.message),
    );
  useEffect(() => {
    void refresh();
  }, [client]);

  const revoke = (id: string) => {
    setRevoking(id);
    setListError(undefined);
    client.revokeDevice(id).then(
      () => refresh().finally(() => setRevoking(undefined)),
      (err: ParleyError) => {
        setRevoking(undefined);
        setListError(err.message);
      },
    );
  };

  return (
    <Modal title="Account" onClose={props.onClose}>
      <section aria-labelledby="account-devices">
        <h3 id="account-devices">Your devices</h3>
        {devices === undefined && !listError && <p class="muted" role="status">Loading devices…</p>}
        {devices && (
          <ul class="members devices" aria-label="Your devices">
            {devices.map((d) => {
              const name = d.name ?? 'Unnamed device';
              return (
                <li key={d.id} data-device={d.id} data-current={d.current ? 'true' : undefined}>
                  <span class="member-name">
                    {name}
                    {d.current && <span class="tag">This device</span>}
                    <span class="muted small device-seen" title={fullDate(d.lastSeenAt)}>{lastSeen(d.lastSeenAt)}</span>
                  </span>
                  {!d.current && (
                    <button type="button" class="link danger" disabled={revoking !== undefined} onClick={() => revoke(d.id)} aria-label={`Log out ${name}`}>
                      {revoking === d.id ? 'Logging out…' : 'Log out'}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        )}
        {listError && <p class="error" role="alert">{listError}</p>}
      </section>
      <section aria-labelledby="account-password">
        <h3 id="account-password">Change password</h3>
        <form
          class="stack"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const data = new FormData(form);
            const oldPassword = String(data.get('old') ?? '');
            const newPassword = String(data.get('new') ?? '');
            setPwDone(false);
            if (newPassword.length < 8) return setPwError('The new password needs at least 8 characters.');
            setPwBusy(true);
            setPwError(undefined);
            client.changePassword(newPassword, oldPassword === '' ? undefined : oldPassword).then(
              () => {
                setPwBusy(false);
                setPwDone(true);
                form.reset();
                void refresh();
              },
              (err: ParleyError) => {
                setPwBusy(false);
                setPwError(err.message);
              },
            );
          }}
        >
          <label for="account-old-password">Current password (if you have one)</label>
          <input id="account-old-password" name="old" type="password" autoComplete="current-password" />
          <label for="account-new-password">New password</label>
          <input
            id="account-new-password" name="new" type="password" autoComplete="new-password" minLength={8} maxLength={256} required
            aria-describedby="account-new-hint"
          />
          <span id="account-new-hint" class="muted small">At least 8 characters. Your other devices will be logged out.</span>
          {pwError && <p class="error" role="alert">{pwError}</p>}
          {pwDone && <p class="success" role="status">Password changed; your other devices were logged out.</p>}
          <div class="row end">
            <button type="submit" class="primary" disabled={pwBusy}>{pwBusy ? 'Changing…' : 'Change password'}</button>
          </div>
        </form>
      </section>
    </Modal>
  );
}
