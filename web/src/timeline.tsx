/**
 * The messages of a conversation: history loads backwards as you scroll up,
 * live messages append, your own carry sent / delivered / seen marks, and a
 * divider shows where the unread ones started.
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ConversationView, Message, SendTarget } from '../../sdk/src/index.js';
import type { Ctx } from './chat.js';
import { clock, fullDate } from './format.js';
import type { FailedSend } from './outgoing.js';
import { MessageBody } from './message-body.js';
import { ClockIcon, ImageIcon, TickIcon } from './icons.js';

interface Props {
  ctx: Ctx;
  view: ConversationView | undefined;
  target: SendTarget;
  /** Read position when the conversation was opened with unread messages. */
  unreadFrom: number | undefined;
}

const PAGE = 30;
const NEAR = 120;

export function Timeline(props: Props) {
  const { ctx, view, target, unreadFrom } = props;
  const { client, me } = ctx;
  const scroller = useRef<HTMLDivElement>(null);
  const divider = useRef<HTMLLIElement>(null);
  const [loading, setLoading] = useState(false);
  const [loadError, setLoadError] = useState(false);
  const memo = useRef({ first: 0, lastKey: '', height: 0, top: 0, atBottom: true, placed: false });

  const messages = view?.messages ?? [];
  const { pending, failed } = ctx.outgoing.forTarget(view, target);
  const complete = !view || view.complete;
  const group = view?.kind === 'group';
  const lower = me.toLowerCase();
  const mine = (m: { sender: string }) => m.sender.toLowerCase() === lower;

  const loadOlder = () => {
    if (!view || complete || loading || client.state !== 'online') return;
    setLoading(true);
    setLoadError(false);
    client.loadOlder(view.id, PAGE).then(
      () => setLoading(false),
      () => {
        setLoading(false);
        setLoadError(true);
      },
    );
  };

  // Keep the reading position steady when older messages are put in front, follow new ones at the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const m = memo.current;
    const first = messages[0]?.seq ?? 0;
    const lastKey = `${messages[messages.length - 1]?.seq ?? 0}/${pending.length}/${failed.length}`;
    if (!m.placed && (messages.length > 0 || complete)) {
      m.placed = true;
      if (divider.current) divider.current.scrollIntoView({ block: 'start' });
      else el.scrollTop = el.scrollHeight;
    } else if (m.first && first < m.first) {
      el.scrollTop = m.top + (el.scrollHeight - m.height);
    } else if (lastKey !== m.lastKey) {
      const newestMine = pending.length > 0 || (messages.length > 0 && mine(messages[messages.length - 1]!));
      if (m.atBottom || newestMine) el.scrollTop = el.scrollHeight;
    }
    m.first = first;
    m.lastKey = lastKey;
    m.height = el.scrollHeight;
    m.top = el.scrollTop;
    m.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  });

  // Fill the screen: while there is no scrollbar yet, fetch older pages.
  useEffect(() => {
    const el = scroller.current;
    if (el && !complete && !loading && !loadError && el.scrollHeight <= el.clientHeight + NEAR) loadOlder();
  });

  const onScroll = () => {
    const el = scroller.current!;
    const m = memo.current;
    m.top = el.scrollTop;
    m.height = el.scrollHeight;
    m.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < NEAR) loadOlder();
  };

  // The divider goes where the unread messages start, once that spot is loaded (not above a partial page).
  const boundary = unreadFrom === undefined ? -1 : messages.findIndex((m) => m.seq > unreadFrom && !mine(m) && m.kind !== 'system');
  const firstUnread = boundary > 0 || (boundary === 0 && complete) ? messages[boundary]!.seq : undefined;

  const items: JSX.Element[] = [];
  let prev: Message | undefined;
  for (const m of messages) {
    if (!prev || new Date(prev.sentAt).toDateString() !== new Date(m.sentAt).toDateString()) {
      items.push(<li key={`day-${m.seq}`} class="day" role="separator"><span>{dayLabel(m.sentAt)}</span></li>);
    }
    if (m.seq === firstUnread) {
      items.push(<li key="unread" ref={divider} class="divider" role="separator" data-testid="new-messages"><span>New messages</span></li>);
    }
    const continued = prev !== undefined && prev.sender === m.sender && prev.kind !== 'system' && m.sentAt - prev.sentAt < 5 * 60_000;
    items.push(<Bubble key={m.seq} ctx={ctx} m={m} mine={mine(m)} showSender={group && !mine(m) && !continued} />);
    prev = m;
  }
  for (const p of pending) {
    items.push(
      <li key={`p-${p.clientId}`} class="msg mine pending" data-status="sending">
        <div class="bubble">
          {p.media && <span class="pending-picture"><ImageIcon /> Picture</span>}
          {p.text && <p class="text">{p.text}</p>}
          <span class="meta"><span class="mark" title="Sending"><ClockIcon /> <span class="label">Sending…</span></span></span>
        </div>
      </li>,
    );
  }
  for (const f of failed) items.push(<Failed key={`f-${f.clientId}`} ctx={ctx} f={f} />);

  return (
    <div class="timeline" ref={scroller} onScroll={onScroll} tabIndex={0} role="log" aria-label="Messages" aria-busy={loading}>
      <div class="history-edge">
        {complete ? (
          view ? <span class="muted small">Beginning of the conversation</span> : <span class="muted">Say hello to {'to' in target ? target.to : ''}.</span>
        ) : (
          <button type="button" class="link" onClick={loadOlder} disabled={loading || client.state !== 'online'}>
            {loading ? 'Loading older messages…' : loadError ? 'Could not load. Try again' : 'Load older messages'}
          </button>
        )}
      </div>
      <ol class="messages">{items}</ol>
    </div>
  );
}

function dayLabel(ms: number): string {
  const d = new Date(ms);
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return 'Today';
  const y = new Date(today.getTime() - 86_400_000);
  if (d.toDateString() === y.toDateString()) return 'Yesterday';
  return d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long' });
}

function Bubble(props: { ctx: Ctx; m: Message; mine: boolean; showSender: boolean }) {
  const { ctx, m, mine } = props;
  if (m.kind === 'system') {
    return <li class="msg system" data-seq={m.seq}><span>{m.text}</span></li>;
  }
  return (
    <li class={`msg ${mine ? 'mine' : 'theirs'}`} data-seq={m.seq} data-sender={m.sender}>
      {props.showSender && <span class="sender">{m.sender}</span>}
      <div class="bubble">
        <MessageBody m={m} client={ctx.client} />
        <span class="meta">
          <time dateTime={new Date(m.sentAt).toISOString()} title={fullDate(m.sentAt)}>{clock(m.sentAt)}</time>
          {mine && <Mark ctx={ctx} m={m} />}
        </span>
      </div>
    </li>
  );
}

function Mark(props: { ctx: Ctx; m: Message }) {
  const s = props.ctx.client.status(props.m);
  const label = s.status === 'seen' ? 'Seen' : s.status === 'delivered' ? 'Delivered' : 'Sent';
  const detail = s.of > 1 ? `${label} · seen by ${s.seen} of ${s.of}, delivered to ${s.delivered}` : label;
  return (
    <span class={`mark ${s.status}`} title={detail} data-status={s.status}>
      <TickIcon double={s.status !== 'sent'} />
      <span class="sr-only">{label}</span>
    </span>
  );
}

function Failed(props: { ctx: Ctx; f: FailedSend }) {
  const { ctx, f } = props;
  return (
    <li class="msg mine failed" data-status="failed">
      <div class="bubble">
        {f.media && <span class="pending-picture"><ImageIcon /> Picture</span>}
        {f.text && <p class="text">{f.text}</p>}
        <span class="meta" role="alert">Not sent: {f.error.message}</span>
        <span class="failed-actions">
          <button type="button" class="link" onClick={() => ctx.outgoing.retry(f)}>Retry</button>
          <button type="button" class="link" onClick={() => ctx.outgoing.discard(f)}>Discard</button>
        </span>
      </div>
    </li>
  );
}
