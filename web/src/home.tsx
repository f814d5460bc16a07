/** The home screen: every conversation with its last message, unread badge and presence, most recent first. */
import type { ConversationView } from '../../sdk/src/index.js';
import { Avatar } from './avatar.js';
import type { Ctx } from './chat.js';
import { when } from './format.js';
import { preview } from './preview.js';
import { AccountIcon, GroupIcon, LogoutIcon, NewChatIcon } from './icons.js';

interface Props {
  ctx: Ctx;
  activeId: string | undefined;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore(): void;
  onNewChat(): void;
  onNewGroup(): void;
  onAccount(): void;
  onLogout(): void;
}

export function Home(props: Props) {
  const { client, me, presence } = props.ctx;
  const list = client.conversations();
  return (
    <>
      <header class="bar home-bar">
        <Avatar name={me} />
        <div class="who">
          <h1>Parley</h1>
          <span class="muted small" data-testid="me">{me}</span>
        </div>
        <div class="actions">
          <button type="button" class="icon" onClick={props.onNewChat} aria-label="New chat" title="New chat">
            <NewChatIcon />
          </button>
          <button type="button" class="icon" onClick={props.onNewGroup} aria-label="New group" title="New group">
            <GroupIcon />
          </button>
          <button type="button" class="icon" onClick={props.onAccount} aria-label="Account" title="Account: devices and password">
            <AccountIcon />
          </button>
          <button type="button" class="icon" onClick={props.onLogout} aria-label="Log out" title="Log out">
            <LogoutIcon />
          </button>
        </div>
      </header>
      {list.length === 0 ? (
        <p class="muted pad">{client.state === 'online' ? 'No conversations yet. Start one with “New chat”.' : 'Loading conversations…'}</p>
      ) : (
        <ul class="conversations" aria-label="Your conversations">
          {list.map((c) => (
            <Item key={c.id} c={c} me={me} active={c.id === props.activeId} presence={c.kind === 'direct' ? presence.get(c.title) : undefined} />
          ))}
        </ul>
      )}
      {props.hasMore && (
        <button type="button" class="link pad" onClick={props.onLoadMore} disabled={props.loadingMore}>
          {props.loadingMore ? 'Loading…' : 'Load more conversations'}
        </button>
      )}
    </>
  );
}

function Item(props: { c: ConversationView; me: string; active: boolean; presence: ReturnType<Ctx['presence']['get']> }) {
  const { c, me, presence } = props;
  const group = c.kind === 'group';
  const typing = c.typing.filter((u) => u.toLowerCase() !== me.toLowerCase());
  const line = typing.length > 0
    ? (group ? `${typing.join(', ')} typing…` : 'typing…')
    : c.lastMessage ? preview(c.lastMessage, me, group) : group ? 'New group' : '';
  const label = [
    c.title,
    group ? 'group' : presence?.online ? 'online' : undefined,
    c.unread > 0 ? `${c.unread} unread` : undefined,
  ].filter(Boolean).join(', ');
  return (
    <li class={`conversation ${props.active ? 'active' : ''} ${c.unread > 0 ? 'has-unread' : ''}`} data-conversation={c.id} data-title={c.title}>
      <a href={`#/c/${c.id}`} aria-current={props.active ? 'page' : undefined} aria-label={label}>
        <Avatar name={c.title} group={group} presence={group ? undefined : presence ?? { online: false }} />
        <span class="main-line">
          <span class="title">{c.title}</span>
          <time class="muted small" dateTime={c.updatedAt ? new Date(c.updatedAt).toISOString() : undefined}>{when(c.updatedAt)}</time>
        </span>
        <span class="sub-line">
          <span class={`preview ${typing.length > 0 ? 'typing' : ''}`}>{c.left ? `${line} · you left` : line}</span>
          {c.unread > 0 && <span class="badge" data-testid="unread">{c.unread > 99 ? '99+' : c.unread}</span>}
        </span>
      </a>
    </li>
  );
}
