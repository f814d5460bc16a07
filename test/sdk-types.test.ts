/**
 * Type tests of the SDK's public API: this file must compile (npm test
 * builds with tsc first), and each @ts-expect-error must stay an error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientEvents, ConnectionState, ConversationView, Message, ParleyClient, SendTarget } from '../sdk/src/index.js';
import { ParleyError } from '../sdk/src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const expectType = <T extends true>(_: T) => undefined;

expectType<Equal<Parameters<ParleyClient['send']>[0], SendTarget>>(true);
expectType<Equal<ReturnType<ParleyClient['send']>, Promise<Message>>>(true);
expectType<Equal<Parameters<ClientEvents['message']>, [message: Message, conversation: ConversationView]>>(true);
expectType<Equal<ParleyClient['state'], ConnectionState>>(true);
expectType<Equal<ConnectionState, 'idle' | 'connecting' | 'syncing' | 'online' | 'offline' | 'loggedOut'>>(true);
expectType<Equal<Message['seq'], number>>(true);
expectType<Equal<ReturnType<ParleyClient['conversations']>, ConversationView[]>>(true);

// Never called: only compiled.
export function usage(c: ParleyClient) {
  c.on('message', (m, conv) => {
    const seq: number = m.seq;
    const peer: string = conv.title;
    return [seq, peer];
  });
  c.on('state', (s) => s === 'online');
  // @ts-expect-error a send needs a target object, not a bare username
  void c.send('bob', 'hi');
  // @ts-expect-error a target is a user or a conversation
  void c.send({ group: 'x' }, 'hi');
  // @ts-expect-error no such event
  c.on('nonsense', () => undefined);
  // @ts-expect-error message listeners get a Message, not a string
  c.on('message', (m: string) => m);
  // @ts-expect-error the loaded messages are read-only for applications
  c.conversations()[0]!.messages.push({} as Message);
  // @ts-expect-error request types are checked
  void c.request('no-such-request');
}

test('ParleyError carries the stable code', () => {
  const e = new ParleyError('rate_limited', 'slow down', 250);
  assert.equal(e.code, 'rate_limited');
  assert.equal(e.retryAfterMs, 250);
  assert.ok(e instanceof Error);
});
