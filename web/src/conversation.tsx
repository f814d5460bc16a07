/** One conversation: header, timeline, composer; for a group, its members dialog. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationView, SendTarget } from '../../sdk/src/index.js';
import { Avatar } from './avatar.js';
import type { Ctx } from './chat.js';
import { Composer } from './composer.js';
import { GroupDialog } from './dialogs.js';
import { lastSeen, plural } from './format.js';
import { Timeline } from './timeline.js';
import { BackIcon, InfoIcon } from './icons.js';

interface Props {
  ctx: Ctx;
  /** undefined: a draft to a user you have no conversation with yet. */
  view: ConversationView | undefined;
  target: SendTarget;
}

export function ConversationScreen(props: Props) {
  const { ctx, view, target } = props;
  const { client, me } = ctx;
  const [members, setMembers] = useState(false);
  const title = view?.title ?? ('to' in target ? target.to : '');
  const group = view?.kind === 'group';
  const typing = (view?.typing ?? []).filter((u) => u.toLowerCase() !== me.toLowerCase());
  const peer = !group ? ctx.presence.get(title) : undefined;

  // Where the unread messages started when the conversation was opened: the "new messages" divider.
  const unreadFrom = useRef<number | undefined>(view && view.unread > 0 ? view.readSeq : undefined);

  useMarkRead(ctx, view);

  let status: string;
  if (typing.length > 0) status = group ? `${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…` : 'typing…';
  else if (group) status = view!.left ? 'You are no longer a member' : plural(view!.members.length, 'member');
  else if (!view) status = 'New conversation';
  else status = peer?.online ? 'online' : lastSeen(peer?.lastActiveAt);

  return (
    <section class="conversation-screen" aria-labelledby="conversation-title">
      <header class="bar conversation-bar">
        <a class="icon back" href="#/" aria-label="Back to conversations" title="Back">
          <BackIcon />
        </a>
        <Avatar name={title} group={group} presence={group || !view ? undefined : peer ?? { online: false }} />
        <div class="who">
          <h2 id="conversation-title">{title}</h2>
          <span class={`muted small ${typing.length > 0 ? 'typing' : ''}`} data-testid="conversation-status" aria-live="polite">{status}</span>
        </div>
        {group && (
          <div class="actions">
            <button type="button" class="icon" onClick={() => setMembers(true)} aria-label="Group info and members" title="Members">
              <InfoIcon />
            </button>
          </div>
        )}
      </header>
      <Timeline ctx={ctx} view={view} target={target} unreadFrom={unreadFrom.current} />
      {view?.left ? (
        <p class="left-note">You are no longer a member of this group.</p>
      ) : (
        <Composer ctx={ctx} view={view} target={target} />
      )}
      {members && view && <GroupDialog ctx={ctx} view={view} onClose={() => setMembers(false)} />}
    </section>
  );
}

/** While the conversation is on screen, everything in it counts as read (on every device of yours). */
function useMarkRead(ctx: Ctx, view: ConversationView | undefined) {
  const { client } = ctx;
  const asked = useRef(0);
  const [visible, setVisible] = useState(document.visibilityState === 'visible');
  useEffect(() => {
    const on = () => setVisible(document.visibilityState === 'visible');
    document.addEventListener('visibilitychange', on);
    return () => document.removeEventListener('visibilitychange', on);
  }, []);
  const id = view?.id;
  const lastSeq = view?.lastSeq ?? 0;
  const unread = view?.unread ?? 0;
  const online = client.state === 'online';
  useEffect(() => {
    if (!id || unread === 0 || !visible || !online || asked.current >= lastSeq) return;
    asked.current = lastSeq;
    client.markRead(id, lastSeq).catch(() => {
      asked.current = 0;
    });
  }, [id, lastSeq, unread, visible, online]);
}
