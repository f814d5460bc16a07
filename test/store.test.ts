/** Store contract cases that are hard to reach through a socket, on the configured database. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createStore } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { freshDatabase, tempDir } from './helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

test('a batch that fails rolls back completely, and nothing of it is remembered (no reused conversation id)', async () => {
  const db = await freshDatabase(tmp.dir, 'rollback');
  const store = createStore(loadConfig({ DATABASE_URL: db.url, SQLITE_SYNCHRONOUS: 'normal' }));
  try {
    await store.migrate();
    const now = Date.now();
    const [a, b, c, d] = await Promise.all(['ann', 'ben', 'cat', 'dan'].map((u) => store.upsertUser(u, now)));
    // The second item names a user that does not exist: the whole batch fails.
    await assert.rejects(store.write([
      { kind: 'send', senderId: a!.id, clientId: 'r1', target: { kind: 'user', userId: b!.id }, text: 'lost with the batch', sentAt: now },
      { kind: 'send', senderId: a!.id, clientId: 'r2', target: { kind: 'user', userId: 987654 }, text: 'to nobody', sentAt: now },
    ]));
    const [cd] = await store.write([{ kind: 'send', senderId: c!.id, clientId: 'c1', target: { kind: 'user', userId: d!.id }, text: 'cat to dan', sentAt: now }]);
    const [ab] = await store.write([{ kind: 'send', senderId: a!.id, clientId: 'r1', target: { kind: 'user', userId: b!.id }, text: 'ann to ben', sentAt: now }]);
    assert.ok(cd?.ok && cd.kind === 'send' && ab?.ok && ab.kind === 'send');
    assert.equal(ab.duplicate, false, 'the failed batch stored nothing');
    assert.notEqual(ab.message.conversationId, cd.message.conversationId, 'ann and ben have their own conversation');
    assert.equal(ab.message.seq, 1);
    assert.equal(await store.history(c!.id, ab.message.conversationId, undefined, 10), undefined, 'cat cannot see it');
    const benSees = await store.history(b!.id, ab.message.conversationId, undefined, 10);
    assert.deepEqual(benSees?.messages.map((m) => m.text), ['ann to ben']);
  } finally {
    await store.close();
    await db.drop();
  }
});
