/** The logged-in app: the conversation list beside (or, on a phone, instead of) one conversation. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ConversationView, ParleyClient } from '../../sdk/src/index.js';
import { ConnectionBanner } from './banner.js';
import { ConversationScreen } from './conversation.js';
import { AccountDialog, NewChatDialog, NewGroupDialog } from './dialogs.js';
import { Home } from './home.js';
import { Signal, useLive } from './live.js';
import { Outgoing } from './outgoing.js';
import { PresenceBook } from './presence.js';
import { go, useRoute } from './route.js';

/** App state besides the SDK's, with one signal for re-rendering. */
export interface Ctx {
  client: ParleyClient;
  me: string;
  presence: PresenceBook;
  outgoing: Outgoing;
}

export function directWith(client: ParleyClient, user: string): ConversationView | undefined {
  const u = user.toLowerCase();
  return client.conversations().find((c) => c.kind === 'direct' && !c.left && c.title.toLowerCase() === u);
}

export function Chat(props: { client: ParleyClient; username: string; onLogout(): void }) {
  const { client } = props;
  const ctx = useMemo<Ctx>(() => ({ client, me: props.username, presence: new PresenceBook(client), outgoing: new Outgoing(client) }), [client]);
  const changes = useMemo(() => {
    const s = new Signal();
    ctx.presence.subscribe(() => s.notify());
    ctx.outgoing.subscribe(() => s.notify());
    return s;
  }, [ctx]);
  useLive(client, changes);
  const route = useRoute();
  const [dialog, setDialog] = useState<'chat' | 'group' | 'account' | undefined>();
  const [everOnline, setEverOnline] = useState(client.state === 'online');
  const [more, setMore] = useState<{ next?: string | undefined; loading: boolean }>({ loading: false });
  const me = client.user?.username ?? props.username;

  useEffect(() => () => {
    ctx.presence.close();
    ctx.outgoing.close();
  }, [ctx]);

  // The home screen: the SDK syncs what changed; the list itself is fetched once per page load.
  useEffect(() => {
    let loaded = false;
    const load = () => {
      if (loaded) return;
      loaded = true;
      setEverOnline(true);
      setMore({ loading: true });
      client.loadConversations({ limit: 50 }).then(
        (r) => setMore({ next: r.next, loading: false }),
        () => {
          loaded = false;
          setMore({ loading: false });
        },
      );
    };
    if (client.state === 'online') load();
    return client.on('state', (s) => s === 'online' && load());
  }, [client]);

  const loadMore = () => {
    if (!more.next || more.loading) return;
    setMore({ ...more, loading: true });
    client.loadConversations({ before: more.next, limit: 50 }).then(
      (r) => setMore({ next: r.next, loading: false }),
      () => setMore({ ...more, loading: false }),
    );
  };

  // A draft to someone you already talk to is that conversation.
  const existing = route.kind === 'draft' ? directWith(client, route.to) : undefined;
  useEffect(() => {
    if (existing) go({ kind: 'conversation', id: existing.id }, true);
  }, [existing?.id]);

  const unread = client.conversations().reduce((n, c) => n + c.unread, 0);
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Parley` : 'Parley';
  }, [unread]);

  const open = route.kind === 'conversation' ? client.conversation(route.id) : existing;
  const showing = route.kind !== 'home';

  return (
    <div class={`chat ${showing ? 'show-conversation' : 'show-home'}`} data-connection={client.state}>
      {showing && (
        <a
          class="skip"
          href="#composer-input"
          onClick={(e) => {
            e.preventDefault();
            document.getElementById('composer-input')?.focus();
          }}
        >
          Skip to message box
        </a>
      )}
      <ConnectionBanner client={client} everOnline={everOnline} />
      <aside class="sidebar" aria-label="Conversations">
        <Home
          ctx={{ ...ctx, me }}
          activeId={open?.id}
          onNewChat={() => setDialog('chat')}
          onNewGroup={() => setDialog('group')}
          onAccount={() => setDialog('account')}
          onLogout={props.onLogout}
          hasMore={!!more.next}
          loadingMore={more.loading}
          onLoadMore={loadMore}
        />
      </aside>
      <main class="main">
        {route.kind === 'conversation' && !open && (
          <div class="empty">
            <p>{client.state === 'online' ? 'This conversation is not available.' : 'Loading conversation…'}</p>
            <a href="#/">Back to conversations</a>
          </div>
        )}
        {open && <ConversationScreen key={open.id} ctx={{ ...ctx, me }} view={open} target={{ conversationId: open.id }} />}
        {route.kind === 'draft' && !open && (
          <ConversationScreen key={`to:${route.to}`} ctx={{ ...ctx, me }} view={undefined} target={{ to: route.to }} />
        )}
        {route.kind === 'home' && (
          <div class="empty">
            <p>Pick a conversation, or start a new one.</p>
            <button type="button" class="primary" onClick={() => setDialog('chat')}>New chat</button>
          </div>
        )}
      </main>
      {dialog === 'chat' && (
        <NewChatDialog
          me={me}
          onClose={() => setDialog(undefined)}
          onStart={(user) => {
            setDialog(undefined);
            const c = directWith(client, user);
            go(c ? { kind: 'conversation', id: c.id } : { kind: 'draft', to: user });
          }}
        />
      )}
      {dialog === 'account' && <AccountDialog client={client} onClose={() => setDialog(undefined)} />}
      {dialog === 'group' && (
        <NewGroupDialog
          client={client}
          onClose={() => setDialog(undefined)}
          onCreated={(id) => {
            setDialog(undefined);
            go({ kind: 'conversation', id });
          }}
        />
      )}
    </div>
  );
}
