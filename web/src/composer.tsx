/** Writing a message: Enter sends, Shift+Enter is a new line; typing is announced to the others. */
import { useEffect, useRef } from 'preact/hooks';
import type { ConversationView, SendTarget } from '../../sdk/src/index.js';
import type { Ctx } from './chat.js';
import { SendIcon } from './icons.js';

/** Unsent text per conversation, kept while you switch between them. */
const drafts = new Map<string, string>();
const TYPING_EVERY_MS = 3000;

export function Composer(props: { ctx: Ctx; view: ConversationView | undefined; target: SendTarget }) {
  const { ctx, view, target } = props;
  const { client } = ctx;
  const key = 'conversationId' in target ? target.conversationId : `to:${target.to.toLowerCase()}`;
  const input = useRef<HTMLTextAreaElement>(null);
  const typingSent = useRef(0);

  useEffect(() => {
    const el = input.current!;
    el.value = drafts.get(key) ?? '';
    grow(el);
    // On a phone the keyboard would cover the conversation on open; focus only with a real pointer.
    if (window.matchMedia('(min-width: 720px)').matches) el.focus();
  }, [key]);

  const announce = (active: boolean) => {
    if (!view || client.state !== 'online') return;
    if (active && Date.now() - typingSent.current < TYPING_EVERY_MS) return;
    typingSent.current = active ? Date.now() : 0;
    client.typing(view.id, active).catch(() => { /* best effort */ });
  };

  const onInput = () => {
    const el = input.current!;
    drafts.set(key, el.value);
    grow(el);
    announce(el.value.trim() !== '');
    if (el.value === '' && typingSent.current) announce(false);
  };

  const send = () => {
    const el = input.current!;
    const text = el.value.trim();
    if (!text) return;
    ctx.outgoing.send(target, text);
    el.value = '';
    drafts.delete(key);
    grow(el);
    typingSent.current = 0;
    el.focus();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  };

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for="composer-input" class="sr-only">Message</label>
      <textarea
        id="composer-input"
        ref={input}
        rows={1}
        placeholder="Write a message"
        maxLength={4000}
        onInput={onInput}
        onKeyDown={onKeyDown}
        aria-describedby="composer-hint"
      />
      <span id="composer-hint" class="sr-only">Enter sends, Shift+Enter starts a new line.</span>
      <button type="submit" class="send" aria-label="Send" title="Send (Enter)">
        <SendIcon />
      </button>
    </form>
  );
}

function grow(el: HTMLTextAreaElement) {
  el.style.height = 'auto';
  el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
}
