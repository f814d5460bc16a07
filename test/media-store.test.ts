/** The Store's picture contract, on the configured database (SQLite, or PostgreSQL with TEST_DATABASE=postgres). */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createStore } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Store, StoredMedia, WriteOutcome } from '../src/ports/store.js';
import { freshDatabase, tempDir } from './helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

async function withStore(name: string, fn: (store: Store) => Promise<void>): Promise<void> {
  const db = await freshDatabase(tmp.dir, name);
  const store = createStore(loadConfig({ DATABASE_URL: db.url, SQLITE_SYNCHRONOUS: 'normal' }));
  try {
    await store.migrate();
    await fn(store);
  } finally {
    await store.close();
    await db.drop();
  }
}

const hex = (c: string) => c.repeat(64);
function media(id: string, uploaderId: number, createdAt: number, key = hex('a'), thumbKey = hex('b')): StoredMedia {
  return {
    id, uploaderId, key: `p/${key}.jpg`, mime: 'image/jpeg', size: 1234, width: 400, height: 600,
    thumbKey: `t/${thumbKey}.webp`, thumbWidth: 213, thumbHeight: 320, placeholder: 'data:image/webp;base64,AAAA', createdAt, sentAt: null,
  };
}
const ok = (o: WriteOutcome | undefined) => {
  assert.ok(o?.ok && o.kind === 'send' && !o.duplicate, JSON.stringify(o));
  return o;
};

test('a picture send is checked in the write transaction: the uploader only; a foreign or unknown id fails alone', async () => {
  await withStore('mediawrite', async (store) => {
    const now = Date.now();
    const [ann, ben] = await Promise.all(['ann', 'ben'].map((u) => store.upsertUser(u, now)));
    await store.createMedia(media('ann-picture-000001', ann!.id, now));
    assert.deepEqual(await store.media('ann-picture-000001'), media('ann-picture-000001', ann!.id, now));
    assert.equal(await store.media('nothing-like-this-1'), undefined);

    const to = { kind: 'user' as const, userId: ben!.id };
    const out = await store.write([
      { kind: 'send', senderId: ann!.id, clientId: 'a1', target: to, text: 'before', sentAt: now },
      { kind: 'send', senderId: ben!.id, clientId: 'b1', target: { kind: 'user', userId: ann!.id }, text: 'not mine', sentAt: now, mediaId: 'ann-picture-000001' },
      { kind: 'send', senderId: ann!.id, clientId: 'a2', target: to, text: 'unknown', sentAt: now, mediaId: 'nothing-like-this-1' },
      { kind: 'send', senderId: ann!.id, clientId: 'a3', target: to, text: 'caption', sentAt: now + 1, mediaId: 'ann-picture-000001' },
      { kind: 'send', senderId: ann!.id, clientId: 'a4', target: to, text: 'after', sentAt: now },
    ]);
    ok(out[0]);
    assert.deepEqual(out[1], { ok: false, code: 'not_found', message: 'no such picture' });
    assert.deepEqual(out[2], { ok: false, code: 'not_found', message: 'no such picture' });
    const pic = ok(out[3]);
    assert.equal(pic.message.kind, 'picture');
    assert.equal(pic.message.text, 'caption');
    assert.deepEqual(pic.message.picture, {
      id: 'ann-picture-000001', mime: 'image/jpeg', width: 400, height: 600, thumbWidth: 213, thumbHeight: 320, placeholder: 'data:image/webp;base64,AAAA',
    });
    ok(out[4]);
    const hist = await store.history(ben!.id, pic.message.conversationId, undefined, 10);
    assert.deepEqual(hist?.messages.map((m) => [m.seq, m.kind, m.text]), [[1, 'text', 'before'], [2, 'picture', 'caption'], [3, 'text', 'after']]);
    assert.deepEqual(hist?.messages[1]?.picture, pic.message.picture, 'read back as written');
    assert.equal((await store.media('ann-picture-000001'))?.sentAt, now + 1, 'when it was first sent');
    // The retry returns the stored picture message.
    const [dup] = await store.write([{ kind: 'send', senderId: ann!.id, clientId: 'a3', target: to, text: 'caption', sentAt: now + 5, mediaId: 'ann-picture-000001' }]);
    assert.ok(dup?.ok && dup.kind === 'send' && dup.duplicate && dup.message.picture?.id === 'ann-picture-000001');
    // sync carries it too.
    const page = await store.sync(ben!.id, 0, 10);
    assert.equal(page.messages.find((m) => m.kind === 'picture')?.picture?.id, 'ann-picture-000001');
  });
});

test('unsent uploads older than the cut-off are deleted and returned; sent ones stay; blob keys in use are reported', async () => {
  await withStore('mediasweep', async (store) => {
    const now = Date.now();
    const [cat, dan] = await Promise.all(['cat', 'dan'].map((u) => store.upsertUser(u, now)));
    await store.createMedia(media('old-unsent-0000001', cat!.id, now - 10_000, hex('1'), hex('2')));
    await store.createMedia(media('old-sent-000000001', cat!.id, now - 10_000, hex('3'), hex('4')));
    await store.createMedia(media('new-unsent-0000001', cat!.id, now, hex('5'), hex('6')));
    // Shares its picture with old-sent.
    await store.createMedia(media('old-shares-0000001', cat!.id, now - 10_000, hex('3'), hex('4')));
    ok((await store.write([{ kind: 'send', senderId: cat!.id, clientId: 'c1', target: { kind: 'user', userId: dan!.id }, text: '', sentAt: now, mediaId: 'old-sent-000000001' }]))[0]);

    const gone = await store.deleteUnsentMedia(now - 5000, 100);
    assert.deepEqual(gone.map((m) => m.id).sort(), ['old-shares-0000001', 'old-unsent-0000001']);
    assert.equal(await store.media('old-unsent-0000001'), undefined);
    assert.ok(await store.media('old-sent-000000001'));
    assert.ok(await store.media('new-unsent-0000001'));
    assert.deepEqual(await store.deleteUnsentMedia(now - 5000, 100), [], 'nothing twice');
    const inUse = await store.mediaKeysInUse([`p/${hex('1')}.jpg`, `t/${hex('2')}.webp`, `p/${hex('3')}.jpg`, `t/${hex('4')}.webp`, `t/${hex('6')}.webp`]);
    assert.deepEqual([...inUse].sort(), [`p/${hex('3')}.jpg`, `t/${hex('4')}.webp`, `t/${hex('6')}.webp`]);
    // Once deleted, the upload cannot be sent.
    const [late] = await store.write([{ kind: 'send', senderId: cat!.id, clientId: 'c2', target: { kind: 'user', userId: dan!.id }, text: '', sentAt: now, mediaId: 'old-unsent-0000001' }]);
    assert.equal(late?.ok, false);
  });
});

test('the sweep and sends racing on one upload: it ends either sent (and kept) or deleted (and the send refused)', async () => {
  await withStore('mediarace', async (store) => {
    const now = Date.now();
    const [eli, fin] = await Promise.all(['eli', 'fin'].map((u) => store.upsertUser(u, now)));
    for (let i = 0; i < 20; i++) {
      const id = `race-upload-${String(i).padStart(6, '0')}`;
      await store.createMedia(media(id, eli!.id, now - 10_000, hex('7'), hex('8')));
      const [sent, gone] = await Promise.all([
        store.write([{ kind: 'send', senderId: eli!.id, clientId: `r${i}`, target: { kind: 'user', userId: fin!.id }, text: '', sentAt: now, mediaId: id }]),
        store.deleteUnsentMedia(now - 5000, 10),
      ]);
      const wasSent = sent[0]?.ok === true;
      const wasDeleted = gone.some((m) => m.id === id);
      assert.notEqual(wasSent, wasDeleted, `upload ${i}: exactly one of sent (${wasSent}) and deleted (${wasDeleted})`);
      assert.equal(!!(await store.media(id)), wasSent);
    }
  });
});
