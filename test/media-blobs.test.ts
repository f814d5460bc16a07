/**
 * The MediaStore port on each adapter (one shared suite), and a whole server
 * keeping its pictures in S3: s3rver, a real S3-protocol server, runs here on
 * 127.0.0.1 on an ephemeral port in a temporary directory.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { DiskMediaStore } from '../src/adapters/media-disk.js';
import { S3MediaStore } from '../src/adapters/media-s3.js';
import { Client, startServer, tempDir } from './helpers.js';
import { cameraJpeg, http, upload } from './media-fixtures.js';
import { mediaStoreSuite } from './media-port.js';

interface S3rverServer { run(): Promise<AddressInfo>; close(): Promise<void> }
type S3rverCtor = new (o: Record<string, unknown>) => S3rverServer;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

const BUCKET = 'parley-media';
const tmp = tempDir('parley-media-');
let s3: S3rverServer;
let endpoint = '';

before(async () => {
  s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(tmp.dir, 's3'), configureBuckets: [{ name: BUCKET, configs: [] }] });
  const addr = await s3.run();
  endpoint = `http://127.0.0.1:${addr.port}`;
});
after(async () => {
  await s3.close();
  tmp.cleanup();
});

// s3rver accepts only its own default credentials.
const s3Options = () => ({ bucket: BUCKET, region: 'us-east-1', endpoint, forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });

let n = 0;
mediaStoreSuite('disk', async () => new DiskMediaStore(join(tmp.dir, `disk-${++n}`)));
mediaStoreSuite('s3', async () => new S3MediaStore(s3Options()));

test('s3: a failing S3 service is an error, not a missing picture', async () => {
  const store = new S3MediaStore({ ...s3Options(), endpoint: 'http://127.0.0.1:9', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
  try {
    await assert.rejects(store.head(`p/${'a'.repeat(64)}.jpg`));
  } finally {
    await store.close();
  }
});

test('a server with MEDIA_STORE=s3: upload, send, the thumbnail and a range served from the bucket', async () => {
  const srv = await startServer({
    MEDIA_STORE: 's3', MEDIA_S3_BUCKET: BUCKET, MEDIA_S3_ENDPOINT: endpoint, MEDIA_S3_FORCE_PATH_STYLE: 'true',
    MEDIA_S3_ACCESS_KEY_ID: 'S3RVER', MEDIA_S3_SECRET_ACCESS_KEY: 'S3RVER', MEDIA_SECRET: 'a-shared-secret-of-at-least-32-characters',
  });
  try {
    const pia = await Client.login(srv.url, { username: 'pia' });
    const quin = await Client.login(srv.url, { username: 'quin' });
    const up = await upload(srv.http, pia.token, await cameraJpeg(), 'application/octet-stream');
    assert.equal(up.status, 201, JSON.stringify(up.json));
    await pia.request('send', { to: 'quin', text: 'from the bucket', media: up.json.media.id, clientId: 's3-1' });
    await quin.until(() => quin.messages.length === 1);
    const pic = quin.messages[0]!.picture!;
    const full = await http(srv.http, pic.url);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('content-type'), 'image/jpeg');
    assert.equal(full.bytes.length, up.json.media.size);
    assert.ok(!full.bytes.includes('GPS-POSITION-MARKER'));
    const thumb = await http(srv.http, pic.thumbUrl);
    assert.equal((await sharp(thumb.bytes).metadata()).format, 'webp');
    const part = await http(srv.http, pic.url, { headers: { range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.deepEqual(part.bytes, full.bytes.subarray(100, 200));
    pia.close();
    quin.close();
  } finally {
    await srv.close();
  }
});
