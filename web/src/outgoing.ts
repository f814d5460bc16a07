/**
 * Outgoing messages as the timeline shows them: the SDK's outbox ("sending",
 * also after a reload) and the sends the server refused for good ("not
 * sent", with retry and discard).
 */
import type { ConversationView, ParleyClient, ParleyError, PendingSend, SendTarget } from '../../sdk/src/index.js';
import { Signal } from './live.js';

/** A send as the outbox holds it; `media` is the uploaded picture of a picture message (`text` its caption). */
export type OutgoingItem = PendingSend;

export interface FailedSend extends PendingSend {
  error: ParleyError;
}

export class Outgoing extends Signal {
  private readonly known = new Map<string, OutgoingItem>();
  private readonly failed: FailedSend[] = [];
  private readonly off: () => void;

  constructor(private readonly client: ParleyClient) {
    super();
    for (const p of client.pendingSends()) this.known.set(p.clientId, p);
    this.off = client.on('sendFailed', (clientId, error) => {
      const p = this.known.get(clientId);
      this.known.delete(clientId);
      if (p) this.failed.push({ ...p, error });
      this.notify();
    });
  }

  close(): void {
    this.off();
  }

  /** Sends a text, or with `media` an uploaded picture with `text` as its caption. */
  send(target: SendTarget, text: string, media?: string): void {
    const clientId = randomId();
    const item: OutgoingItem = { clientId, target, text, createdAt: Date.now(), ...(media ? { media } : {}) };
    this.known.set(clientId, item);
    const sent = media ? this.client.sendPicture(target, media, text, clientId) : this.client.send(target, text, clientId);
    sent.then(
      () => this.known.delete(clientId),
      () => { /* reported through sendFailed */ },
    );
    this.notify();
  }

  retry(f: FailedSend): void {
    this.discard(f);
    this.send(f.target, f.text, f.media);
  }

  discard(f: FailedSend): void {
    const i = this.failed.indexOf(f);
    if (i >= 0) this.failed.splice(i, 1);
    this.notify();
  }

  /** Sending and failed messages that belong in this conversation (or draft to a user). */
  forTarget(view: ConversationView | undefined, target: SendTarget): { pending: OutgoingItem[]; failed: FailedSend[] } {
    const match = (t: SendTarget) => {
      if ('conversationId' in t) return view !== undefined && t.conversationId === view.id;
      const to = t.to.toLowerCase();
      if ('to' in target && target.to.toLowerCase() === to) return true;
      return view?.kind === 'direct' && view.title.toLowerCase() === to;
    };
    return { pending: this.client.pendingSends().filter((p) => match(p.target)), failed: this.failed.filter((f) => match(f.target)) };
  }
}

function randomId(): string {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
