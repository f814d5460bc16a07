/**
 * The MediaStore contract (src/ports/media.ts) as one suite, run against
 * every adapter: the local disk and an S3-compatible server.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import type { MediaStore } from '../src/ports/media.js';

async function bytesOf(r: Readable | undefined): Promise<Buffer | undefined> {
  if (!r) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

const keyOf = (data: Buffer, kind = 'p', ext = 'jpg') => `${kind}/${createHash('sha256').update(data).digest('hex')}.${ext}`;

export function mediaStoreSuite(name: string, open: () => Promise<MediaStore>): void {
  test(`${name}: put, head, get, ranges, delete`, async () => {
    const store = await open();
    try {
      const data = randomBytes(70_000);
      const key = keyOf(data);
      assert.equal(await store.head(key), undefined);
      assert.equal(await store.get(key), undefined, 'a missing key is undefined, not an error');
      await store.put(key, data, 'image/jpeg');
      assert.deepEqual(await store.head(key), { size: data.length });
      assert.deepEqual(await bytesOf(await store.get(key)), data);
      assert.deepEqual(await bytesOf(await store.get(key, { start: 0, end: 0 })), data.subarray(0, 1));
      assert.deepEqual(await bytesOf(await store.get(key, { start: 1000, end: 65_999 })), data.subarray(1000, 66_000));
      assert.deepEqual(await bytesOf(await store.get(key, { start: data.length - 5, end: data.length - 1 })), data.subarray(data.length - 5));
      await store.delete(key);
      assert.equal(await store.head(key), undefined);
      assert.equal(await store.get(key), undefined);
      await store.delete(key); // deleting a missing key succeeds
    } finally {
      await store.close();
    }
  });

  test(`${name}: content-addressed puts of an existing key succeed and change nothing, also at once`, async () => {
    const store = await open();
    try {
      const data = randomBytes(5000);
      const key = keyOf(data, 't', 'webp');
      await Promise.all([store.put(key, data, 'image/webp'), store.put(key, data, 'image/webp'), store.put(key, data, 'image/webp')]);
      await store.put(key, data, 'image/webp');
      assert.deepEqual(await bytesOf(await store.get(key)), data);
      const other = randomBytes(100);
      const otherKey = keyOf(other);
      await store.put(otherKey, other, 'image/jpeg');
      assert.deepEqual(await bytesOf(await store.get(key)), data, 'keys do not collide');
      await Promise.all([store.delete(key), store.delete(otherKey)]);
    } finally {
      await store.close();
    }
  });

  test(`${name}: keys that could leave the store are refused`, async () => {
    const store = await open();
    try {
      for (const key of ['../../etc/passwd', 'p/../../x.jpg', '/abs/path.jpg', 'p/NOTHEX.jpg', '', 'p/a.jpg']) {
        await assert.rejects(store.put(key, Buffer.from('x'), 'image/jpeg'), /invalid media key/, key);
        await assert.rejects(store.head(key), /invalid media key/, key);
      }
    } finally {
      await store.close();
    }
  });
}
