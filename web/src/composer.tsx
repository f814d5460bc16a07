/**
 * Writing a message: Enter sends, Shift+Enter is a new line; typing is
 * announced to the others. A picture can be picked or pasted: it is previewed,
 * uploaded with a progress bar, and sent with the text as its caption.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationView, ParleyError, SendTarget } from '../../sdk/src/index.js';
import type { Ctx } from './chat.js';
import { CloseIcon, ImageIcon, SendIcon } from './icons.js';
import { isImage } from './uploads.js';

/** Unsent text per conversation, kept while you switch between them. */
const drafts = new Map<string, string>();
const TYPING_EVERY_MS = 3000;

interface Picked {
  file: Blob;
  preview: string;
  progress?: { sent: number; total: number };
  error?: string;
}

export function Composer(props: { ctx: Ctx; view: ConversationView | undefined; target: SendTarget }) {
  const { ctx, view, target } = props;
  const { client } = ctx;
  const key = 'conversationId' in target ? target.conversationId : `to:${target.to.toLowerCase()}`;
  const input = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const typingSent = useRef(0);
  const [picked, setPicked] = useState<Picked | undefined>();

  useEffect(() => {
    const el = input.current!;
    el.value = drafts.get(key) ?? '';
    grow(el);
    // On a phone the keyboard would cover the conversation on open; focus only on wide screens.
    if (window.matchMedia('(min-width: 720px)').matches) el.focus();
  }, [key]);

  useEffect(() => () => {
    if (picked) URL.revokeObjectURL(picked.preview);
  }, [picked?.preview]);

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

  const clearText = () => {
    const el = input.current!;
    el.value = '';
    drafts.delete(key);
    grow(el);
    el.focus();
  };

  const pick = (file: Blob | undefined | null) => {
    if (!file) return;
    if (!isImage(file)) {
      setPicked(undefined);
      return;
    }
    setPicked({ file, preview: URL.createObjectURL(file) });
    input.current?.focus();
  };

  const sendPicture = async (p: Picked) => {
    if (p.progress) return;
    const caption = input.current!.value.trim();
    let current: Picked = { ...p, progress: { sent: 0, total: p.file.size } };
    delete current.error;
    setPicked(current);
    try {
      const uploaded = await client.uploadPicture(p.file, {
        onProgress: (sent, total) => {
          current = { ...current, progress: { sent, total } };
          setPicked(current);
        },
      });
      // The message itself goes through the outbox like text: it survives a lost connection.
      ctx.outgoing.send(target, caption, uploaded.id);
      stopTyping();
      setPicked(undefined);
      clearText();
    } catch (err) {
      const e = err as ParleyError;
      const { progress: _, ...rest } = current;
      setPicked({ ...rest, error: e.code === 'too_large' ? 'This picture is too large to send.' : `Could not upload the picture: ${e.message}` });
    }
  };

  const send = () => {
    if (picked) {
      void sendPicture(picked);
      return;
    }
    const text = input.current!.value.trim();
    if (!text) return;
    ctx.outgoing.send(target, text);
    stopTyping();
    clearText();
  };

  // A typing notice sent just before the message can reach the others after it: say "stopped" last.
  const stopTyping = () => {
    if (typingSent.current) announce(false);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && picked && !picked.progress) {
      e.preventDefault();
      setPicked(undefined);
    }
  };

  const onPaste = (e: ClipboardEvent) => {
    const file = [...(e.clipboardData?.files ?? [])].find(isImage);
    if (file) {
      e.preventDefault();
      pick(file);
    }
  };

  const pct = picked?.progress ? Math.round((100 * picked.progress.sent) / Math.max(1, picked.progress.total)) : 0;

  return (
    <form
      class="composer-wrap"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {picked && (
        <div class="picked" role="group" aria-label="Picture to send">
          <img src={picked.preview} alt="Preview of the picture to send" />
          <div class="picked-info">
            {picked.progress ? (
              <>
                <progress max={100} value={pct} aria-label="Upload progress" />
                <span class="small muted" aria-live="polite">Uploading… {pct}%</span>
              </>
            ) : (
              <span class="small muted">Add a caption below, then send.</span>
            )}
            {picked.error && <span class="error small" role="alert">{picked.error}</span>}
          </div>
          {!picked.progress && (
            <button type="button" class="icon" onClick={() => setPicked(undefined)} aria-label="Remove picture" title="Remove picture (Escape)">
              <CloseIcon />
            </button>
          )}
        </div>
      )}
      <div class="composer">
        <button type="button" class="icon attach" onClick={() => fileInput.current!.click()} aria-label="Attach a picture" title="Attach a picture">
          <ImageIcon />
        </button>
        <input
          ref={fileInput}
          type="file"
          accept="image/*"
          hidden
          aria-label="Picture file"
          onChange={(e) => {
            const el = e.currentTarget;
            pick(el.files?.[0]);
            el.value = '';
          }}
        />
        <label for="composer-input" class="sr-only">Message</label>
        <textarea
          id="composer-input"
          ref={input}
          rows={1}
          placeholder={picked ? 'Add a caption' : 'Write a message'}
          maxLength={4000}
          onInput={onInput}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
          aria-describedby="composer-hint"
        />
        <span id="composer-hint" class="sr-only">Enter sends, Shift+Enter starts a new line. Paste an image to send a picture.</span>
        <button type="submit" class="send" aria-label={picked ? 'Send picture' : 'Send'} title="Send (Enter)" disabled={!!picked?.progress}>
          <SendIcon />
        </button>
      </div>
    </form>
  );
}

function grow(el: HTMLTextAreaElement) {
  el.style.height = 'auto';
  el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
}
