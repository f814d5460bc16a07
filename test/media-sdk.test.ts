/** The SDK's pictures against a real server: uploadPicture over HTTP, sendPicture through the outbox. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { ParleyError, type MediaInfo, type Message, type ParleyClient, type Picture, type PictureData, type SendTarget } from '../sdk/src/index.js';
import { startServer, type TestServer } from './helpers.js';
import { noiseJpeg, SVG } from './media-fixtures.js';
import { sdkClient, until } from './sdk-helpers.js';

// Type tests of the public API (compiled by npm test; each @ts-expect-error must stay an error).
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const expectType = <T extends true>(_: T) => undefined;
expectType<Equal<ReturnType<ParleyClient['uploadPicture']>, Promise<MediaInfo>>>(true);
expectType<Equal<Parameters<ParleyClient['uploadPicture']>[0], PictureData>>(true);
expectType<Equal<Parameters<ParleyClient['sendPicture']>[0], SendTarget>>(true);
expectType<Equal<ReturnType<ParleyClient['sendPicture']>, Promise<Message>>>(true);
expectType<Equal<Message['picture'], Picture | undefined>>(true);
expectType<Equal<Message['kind'], 'text' | 'system' | 'picture'>>(true);
export function pictureUsage(c: ParleyClient, file: Blob) {
  void c.uploadPicture(file, { onProgress: (sent: number, total: number) => sent / total });
  // @ts-expect-error a picture is bytes, not a file name
  void c.uploadPicture('photo.jpg');
  // @ts-expect-error sendPicture takes the media id, not the MediaInfo
  void c.sendPicture({ to: 'bob' }, {} as MediaInfo);
}

let srv: TestServer;
before(async () => { srv = await startServer({ UPLOAD_BURST: '4', UPLOAD_RATE: '1' }); });
after(async () => { await srv.close(); });

test('uploadPicture then sendPicture: the other side gets a picture message whose URLs work', async () => {
  const a = sdkClient(srv.url, 'rita');
  const b = sdkClient(srv.url, 'sam');
  await Promise.all([a.client.start(), b.client.start()]);
  try {
    const jpeg = await noiseJpeg(900, 600, 71);
    const progress: [number, number][] = [];
    // A Blob, as a browser app would pass from a file input.
    const info: MediaInfo = await a.client.uploadPicture(new Blob([jpeg]), { onProgress: (sent, total) => progress.push([sent, total]) });
    assert.deepEqual([info.mime, info.width, info.height], ['image/jpeg', 900, 600]);
    assert.deepEqual(progress.at(-1), [jpeg.length, jpeg.length], 'progress ends at the total');
    // ArrayBuffer and Uint8Array work as well.
    const png = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#123456' } }).png().toBuffer();
    assert.equal((await a.client.uploadPicture(new Uint8Array(png))).mime, 'image/png');
    assert.equal((await a.client.uploadPicture(png.buffer.slice(png.byteOffset, png.byteOffset + png.length) as ArrayBuffer)).width, 30);

    const m = await a.client.sendPicture({ to: 'sam' }, info.id, 'look');
    assert.equal(m.kind, 'picture');
    assert.equal(m.text, 'look');
    await until(() => b.received.length === 1, 5000, 'sam receives it');
    const got = b.received[0]!;
    assert.equal(got.picture?.id, info.id);
    assert.equal(got.picture?.placeholder, info.placeholder);
    const thumb = await fetch(new URL(got.picture!.thumbUrl, srv.http));
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/webp');
    assert.equal(b.client.conversation(got.conversationId)?.lastMessage?.picture?.id, info.id);
    // Without a caption, into the same conversation by id.
    const again = await a.client.sendPicture({ conversationId: m.conversationId }, info.id);
    assert.equal(again.text, '');
  } finally {
    a.client.close();
    b.client.close();
  }
});

test('refusals reach the app as ParleyError codes: an SVG, a foreign picture, too many uploads, not started', async () => {
  const a = sdkClient(srv.url, 'tia');
  const b = sdkClient(srv.url, 'ugo');
  await Promise.all([a.client.start(), b.client.start()]);
  const failed: string[] = [];
  a.client.on('sendFailed', (_id, e) => failed.push(e.code));
  try {
    await assert.rejects(a.client.uploadPicture(SVG), (e: unknown) => e instanceof ParleyError && e.code === 'unsupported_media');
    const theirs = await b.client.uploadPicture(await noiseJpeg(50, 50, 72));
    await assert.rejects(a.client.sendPicture({ to: 'ugo' }, theirs.id, 'mine now?'), (e: unknown) => e instanceof ParleyError && e.code === 'not_found');
    assert.deepEqual(failed, ['not_found']);
    assert.equal(a.client.outboxSize, 0, 'a refused picture leaves the outbox');
    // The bucket holds 4: one was used above; two more, then rate_limited with a wait.
    await a.client.uploadPicture(await noiseJpeg(20, 20, 73));
    await a.client.uploadPicture(await noiseJpeg(20, 20, 74));
    await a.client.uploadPicture(await noiseJpeg(20, 20, 75));
    await assert.rejects(a.client.uploadPicture(await noiseJpeg(20, 20, 76)), (e: unknown) => e instanceof ParleyError && e.code === 'rate_limited' && (e.retryAfterMs ?? 0) > 0);
  } finally {
    a.client.close();
    b.client.close();
  }
  const idle = sdkClient(srv.url, 'vic');
  await assert.rejects(idle.client.uploadPicture(SVG), (e: unknown) => e instanceof ParleyError && e.code === 'unauthorized');
});

/**
 * A minimal XMLHttpRequest over node:http, so that the SDK's browser path
 * runs against the real server: it writes the body in 64 KiB pieces and
 * reports upload progress after each, as browsers do.
 */
class NodeXhr {
  status = 0;
  responseText = '';
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  static requests: { headers: Record<string, string> }[] = [];
  private method = '';
  private url = '';
  private readonly headers: Record<string, string> = {};

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }

  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }

  send(body: Blob | ArrayBuffer): void {
    NodeXhr.requests.push({ headers: { ...this.headers } });
    void (async () => {
      const { request } = await import('node:http');
      const data = Buffer.from(body instanceof Blob ? await body.arrayBuffer() : body);
      const req = request(this.url, { method: this.method, headers: { ...this.headers, 'content-length': String(data.length) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          this.status = res.statusCode ?? 0;
          this.responseText = Buffer.concat(chunks).toString();
          this.onload?.();
        });
      });
      req.on('error', () => this.onerror?.());
      for (let at = 0; at < data.length; at += 65536) {
        const piece = data.subarray(at, at + 65536);
        await new Promise<void>((resolve) => req.write(piece, () => resolve()));
        this.upload.onprogress?.({ loaded: at + piece.length, total: data.length, lengthComputable: true });
      }
      req.end();
    })();
  }
}

test('an upload refused because the node is busy decoding others is tried again after retryAfterMs; with retries: 0 the app gets unavailable', async () => {
  const busy = await startServer({ MEDIA_PROCESSING_CONCURRENCY: '1', MEDIA_PROCESSING_QUEUE: '0', UPLOAD_BURST: '100', UPLOAD_RATE: '1000' });
  const c = sdkClient(busy.url, 'tess');
  await c.client.start();
  try {
    const photos = await Promise.all([0, 1, 2].map((i) => noiseJpeg(1600, 1200, 90 + i)));
    // Without retries, two of three uploads at once on a node that decodes one at a time and queues none are refused.
    const once = await Promise.allSettled(photos.map((p) => c.client.uploadPicture(p, { retries: 0 })));
    const refused = once.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as ParleyError);
    assert.ok(refused.length >= 1, 'at least one refused');
    for (const e of refused) {
      assert.ok(e instanceof ParleyError);
      assert.equal(e.code, 'unavailable');
      assert.equal(e.retryAfterMs, 1000);
    }
    // With the default retries every one of them gets through, each stored once.
    const t0 = Date.now();
    const all = await Promise.all(photos.map((p) => c.client.uploadPicture(p)));
    assert.deepEqual(all.map((m) => [m.width, m.height]), [[1600, 1200], [1600, 1200], [1600, 1200]]);
    assert.equal(new Set(all.map((m) => m.id)).size, 3);
    assert.ok(Date.now() - t0 >= 1000, 'the refused ones waited for retryAfterMs');
  } finally {
    c.client.close();
    await busy.close();
  }
});

test('in a browser (XMLHttpRequest) uploadPicture reports progress as the bytes go out', async () => {
  const g = globalThis as { XMLHttpRequest?: unknown };
  g.XMLHttpRequest = NodeXhr;
  const a = sdkClient(srv.url, 'wes');
  try {
    await a.client.start();
    const jpeg = await noiseJpeg(1600, 1200, 77);
    assert.ok(jpeg.length > 200_000, `a picture of several pieces (${jpeg.length})`);
    const progress: number[] = [];
    const info = await a.client.uploadPicture(jpeg, { onProgress: (sent, total) => { assert.equal(total, jpeg.length); progress.push(sent); } });
    assert.equal(info.width, 1600);
    assert.ok(progress.length >= 3, `several progress calls (${progress.length})`);
    assert.deepEqual(progress, [...progress].sort((x, y) => x - y), 'rising');
    assert.equal(progress.at(-1), jpeg.length);
    assert.match(NodeXhr.requests[0]!.headers.authorization!, /^Bearer .{16,}/);
    // Errors come back as codes on this path too.
    await assert.rejects(a.client.uploadPicture(SVG), (e: unknown) => e instanceof ParleyError && e.code === 'unsupported_media');
  } finally {
    a.client.close();
    delete g.XMLHttpRequest;
  }
});
