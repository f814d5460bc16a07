/**
 * Picture messages end to end, on a real server over real HTTP and
 * WebSockets (SQLite, and PostgreSQL with TEST_DATABASE=postgres): upload,
 * cleaning, thumbnails, sending, signed URLs, bad input and the sweep of
 * uploads that were never sent.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { loadConfig } from '../src/config.js';
import type { Message, Picture } from '../src/protocol/schemas.js';
import { Client, queryDatabase, RequestError, sleep, startServer, tempDir, type TestServer } from './helpers.js';
import { cameraJpeg, http, loginHttp, noiseJpeg, pngClaiming, solidPng, SVG, TEXT, upload } from './media-fixtures.js';

let srv: TestServer;
before(async () => { srv = await startServer({ UPLOAD_BURST: '1000', UPLOAD_RATE: '100000' }); });
after(async () => { await srv.close(); });

/** Files under the server's media directory (each a stored blob). */
function blobFiles(server: TestServer, kind: 'p' | 't'): string[] {
  const root = join(server.app.config.mediaDir, kind);
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    return [];
  }
}

const pixel = async (img: Buffer, x: number, y: number) => {
  const { data, info } = await sharp(img).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * 3;
  return [data[i]!, data[i + 1]!, data[i + 2]!];
};

async function sendPicture(c: Client, to: string, media: string, text = '', clientId = `p-${Math.random().toString(36).slice(2)}`) {
  return c.request('send', { to, media, text, clientId });
}

test('a camera picture: upload, send with a caption, the recipient sees it rotated, without EXIF or GPS, with a thumbnail and a placeholder', async () => {
  const alice = await Client.login(srv.url, { username: 'alice' });
  const bob = await Client.login(srv.url, { username: 'bob' });
  const original = await cameraJpeg();
  assert.ok(original.includes('GPS-POSITION-MARKER') && original.includes('EXIF-ARTIST-MARKER'), 'the fixture carries the markers');
  assert.equal((await sharp(original).metadata()).orientation, 6);

  // The client declares it as PNG; the content decides.
  const up = await upload(srv.http, alice.token, original, 'image/png');
  assert.equal(up.status, 201);
  const media = up.json.media;
  assert.equal(media.mime, 'image/jpeg', 'type from the content, not from the header');
  assert.deepEqual([media.width, media.height], [400, 600], 'orientation applied: 600x400 turned upright');
  assert.match(media.placeholder, /^data:image\/webp;base64,[A-Za-z0-9+/=]+$/);
  assert.ok(media.placeholder.length < 1024, `placeholder under 1 KB (${media.placeholder.length})`);
  const ph = await sharp(Buffer.from(media.placeholder.split(',')[1], 'base64')).metadata();
  assert.equal(ph.format, 'webp');
  assert.ok(Math.max(ph.width!, ph.height!) <= 16);

  const sent = await sendPicture(alice, 'bob', media.id, 'On the way up 🏔', 'a-pic-1');
  assert.equal(sent.message.kind, 'picture');
  assert.equal(sent.message.text, 'On the way up 🏔');
  await bob.until(() => bob.messages.length === 1, 5000, 'the push');
  const pushed = bob.messages[0]!;
  assert.equal(pushed.kind, 'picture');
  assert.equal(pushed.text, 'On the way up 🏔');
  const pic = pushed.picture!;
  assert.equal(pic.id, media.id);
  assert.deepEqual([pic.width, pic.height, pic.mime, pic.placeholder], [400, 600, 'image/jpeg', media.placeholder]);
  assert.match(pic.url, new RegExp(`^/v1/media/${media.id}\\?expires=\\d+&sig=[A-Za-z0-9_-]+$`));
  assert.match(pic.thumbUrl, new RegExp(`^/v1/media/${media.id}/thumb\\?expires=\\d+&sig=[A-Za-z0-9_-]+$`));
  assert.ok(pic.expiresAt >= Date.now() + srv.app.config.mediaUrlTtlMs - 5000);

  // No Authorization header: an <img src> works.
  const full = await http(srv.http, pic.url);
  assert.equal(full.status, 200);
  assert.equal(full.headers.get('content-type'), 'image/jpeg');
  assert.equal(Number(full.headers.get('content-length')), full.bytes.length);
  assert.match(full.headers.get('cache-control') ?? '', /max-age=31536000/);
  assert.match(full.headers.get('cache-control') ?? '', /immutable/);
  assert.equal(full.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(full.headers.get('accept-ranges'), 'bytes');
  assert.equal(full.bytes.length, media.size);
  const meta = await sharp(full.bytes).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 400, 600]);
  assert.equal(meta.exif, undefined, 'no EXIF');
  assert.equal(meta.orientation, undefined, 'no orientation tag left to apply twice');
  for (const marker of ['GPS-POSITION-MARKER', 'EXIF-ARTIST-MARKER', 'ParleyCam', 'Exif']) assert.ok(!full.bytes.includes(marker), `no ${marker}`);
  // Upright: the original's left half (red) is now on top, its right half (blue) at the bottom.
  const [tr, , tb] = await pixel(full.bytes, 200, 100);
  const [br, , bb] = await pixel(full.bytes, 200, 500);
  assert.ok(tr! > 200 && tb! < 60, `top is red (${tr},${tb})`);
  assert.ok(bb! > 200 && br! < 60, `bottom is blue (${br},${bb})`);

  const thumb = await http(srv.http, pic.thumbUrl);
  assert.equal(thumb.status, 200);
  assert.equal(thumb.headers.get('content-type'), 'image/webp');
  const tmeta = await sharp(thumb.bytes).metadata();
  assert.deepEqual([tmeta.format, tmeta.width, tmeta.height], ['webp', pic.thumbWidth, pic.thumbHeight]);
  assert.deepEqual([pic.thumbWidth, pic.thumbHeight], [213, 320]);
  assert.equal(tmeta.exif, undefined);
  assert.ok(!thumb.bytes.includes('GPS-POSITION-MARKER'));

  // Range requests: a slice, an open end, a suffix, and one beyond the end.
  const slice = await http(srv.http, pic.url, { headers: { range: 'bytes=10-19' } });
  assert.equal(slice.status, 206);
  assert.equal(slice.headers.get('content-range'), `bytes 10-19/${full.bytes.length}`);
  assert.deepEqual(slice.bytes, full.bytes.subarray(10, 20));
  const tail = await http(srv.http, pic.url, { headers: { range: 'bytes=-7' } });
  assert.equal(tail.status, 206);
  assert.deepEqual(tail.bytes, full.bytes.subarray(full.bytes.length - 7));
  const rest = await http(srv.http, pic.url, { headers: { range: `bytes=${full.bytes.length - 3}-` } });
  assert.deepEqual(rest.bytes, full.bytes.subarray(full.bytes.length - 3));
  const beyond = await http(srv.http, pic.url, { headers: { range: `bytes=${full.bytes.length}-` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), `bytes */${full.bytes.length}`);
  // Revalidation by the content hash.
  const again = await http(srv.http, pic.url, { headers: { 'if-none-match': full.headers.get('etag')! } });
  assert.equal(again.status, 304);
  assert.equal(again.bytes.length, 0);
  alice.close();
  bob.close();
});

test('picture URLs are signed afresh in sync, history and the home screen, and only members get them', async () => {
  const cleo = await Client.login(srv.url, { username: 'cleo' });
  const dan = await Client.login(srv.url, { username: 'dan' });
  const eve = await Client.login(srv.url, { username: 'eve' });
  const start = await dan.request('sync', {});
  const up = await upload(srv.http, cleo.token, await solidPng(50, 30));
  assert.equal(up.json.media.mime, 'image/png');
  const sent = await sendPicture(cleo, 'dan', up.json.media.id, '', 'c-1');
  assert.equal(sent.message.text, '', 'an empty caption is allowed');

  const check = async (p: Picture | undefined, where: string) => {
    assert.ok(p, `${where} carries the picture`);
    assert.equal(p.id, up.json.media.id, where);
    assert.equal((await http(srv.http, p.thumbUrl)).status, 200, `${where}: thumbnail URL works`);
    assert.equal((await http(srv.http, p.url)).headers.get('content-type'), 'image/png', `${where}: picture URL works`);
  };
  const synced = await dan.request('sync', { token: start.token });
  await check(synced.messages[0]?.picture, 'sync');
  const convId = sent.message.conversationId;
  await check((await dan.request('history', { conversationId: convId })).messages[0]?.picture, 'history');
  await check((await dan.request('conversations', {})).conversations.find((c) => c.id === convId)?.lastMessage?.picture, 'home screen');
  await check((await cleo.request('history', { conversationId: convId })).messages[0]?.picture, "the sender's history");
  // The same over HTTP.
  const danToken = dan.token;
  const h = await http(srv.http, `/v1/conversations/${convId}/messages`, { headers: { authorization: `Bearer ${danToken}` } });
  await check(h.json.messages[0].picture, 'HTTP history');

  // Eve is not a member: no history, no conversation, no URL.
  await assert.rejects(eve.request('history', { conversationId: convId }), (e: RequestError) => e.code === 'not_found');
  assert.equal((await eve.request('conversations', {})).conversations.length, 0);
  assert.equal(eve.messages.length, 0);
  cleo.close();
  dan.close();
  eve.close();
});

test('a signed URL works only as signed: another picture, another variant, a changed signature or expiry get 403, never the bytes', async () => {
  const fay = await Client.login(srv.url, { username: 'fay' });
  const gus = await Client.login(srv.url, { username: 'gus' });
  const a = await upload(srv.http, fay.token, await noiseJpeg(64, 48, 11));
  const b = await upload(srv.http, gus.token, await noiseJpeg(64, 48, 12));
  const pa = (await sendPicture(fay, 'gus', a.json.media.id)).message.picture!;
  const pb = (await sendPicture(gus, 'fay', b.json.media.id)).message.picture!;
  assert.equal((await http(srv.http, pa.url)).status, 200);

  const q = (url: string) => new URL(url, 'http://x');
  const forged = [
    ['another picture with this signature', pa.url.replace(pa.id, pb.id)],
    ['the thumbnail signature used for the picture', `/v1/media/${pa.id}${q(pa.thumbUrl).search}`],
    // The first character replaced by a different one (the last could differ only in unused bits).
    ['a changed signature', pa.url.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`)],
    ['a later expiry', pa.url.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 3_600_000}`)],
    ['a signature from another server secret', `/v1/media/${pa.id}?expires=${pa.expiresAt}&sig=${'A'.repeat(43)}`],
  ];
  for (const [what, url] of forged) {
    const r = await http(srv.http, url!);
    assert.equal(r.status, 403, what);
    assert.equal(r.json.error.code, 'forbidden', what);
    assert.equal(r.headers.get('content-type')?.startsWith('application/json'), true, `${what}: an error, not a picture`);
  }
  // An id that does not exist, even with a valid-looking signature, reveals nothing but 403.
  assert.equal((await http(srv.http, `/v1/media/${'x'.repeat(22)}?expires=${pa.expiresAt}&sig=${q(pa.url).searchParams.get('sig')}`)).status, 403);
  // Without the signature at all.
  assert.equal((await http(srv.http, `/v1/media/${pa.id}`)).status, 400);
  fay.close();
  gus.close();
});

test('only the uploader can send a picture; unknown and foreign ids are not_found, nothing is stored, other sends go through', async () => {
  const hal = await Client.login(srv.url, { username: 'hal' });
  const ivy = await Client.login(srv.url, { username: 'ivy' });
  const own = (await upload(srv.http, hal.token, await noiseJpeg(40, 40, 21))).json.media.id as string;
  const theirs = (await upload(srv.http, ivy.token, await noiseJpeg(40, 40, 22))).json.media.id as string;

  // Three sends written in one go: the foreign picture fails alone.
  const results = await Promise.allSettled([
    hal.request('send', { to: 'ivy', text: 'first', clientId: 'h-1' }),
    hal.request('send', { to: 'ivy', text: 'stolen', media: theirs, clientId: 'h-2' }),
    hal.request('send', { to: 'ivy', text: 'made up', media: 'AAAAAAAAAAAAAAAAAAAAAA', clientId: 'h-3' }),
    hal.request('send', { to: 'ivy', text: 'mine', media: own, clientId: 'h-4' }),
  ]);
  assert.equal(results[0].status, 'fulfilled');
  for (const r of [results[1], results[2]]) {
    assert.equal(r.status, 'rejected');
    assert.equal(((r as PromiseRejectedResult).reason as RequestError).code, 'not_found');
  }
  assert.equal(results[3].status, 'fulfilled');
  const hist = await ivy.request('history', { conversationId: (results[0] as PromiseFulfilledResult<{ message: Message }>).value.message.conversationId });
  assert.deepEqual(hist.messages.map((m) => [m.seq, m.kind, m.text]), [[1, 'text', 'first'], [2, 'picture', 'mine']]);

  // Over HTTP too, and the same id may be sent again by its uploader (into another conversation as well).
  const foreign = await http(srv.http, '/v1/messages', {
    method: 'POST', headers: { authorization: `Bearer ${hal.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ clientId: 'h-5', to: 'ivy', text: '', media: theirs }),
  });
  assert.equal(foreign.status, 404);
  assert.equal(foreign.json.error.code, 'not_found');
  const again = await hal.request('send', { to: 'hal', text: 'to myself', media: own, clientId: 'h-6' });
  assert.equal(again.message.picture?.id, own);
  // An idempotent retry returns the original picture message.
  const retry = await hal.request('send', { to: 'ivy', text: 'mine', media: own, clientId: 'h-4' });
  assert.equal(retry.duplicate, true);
  assert.equal(retry.message.picture?.id, own);
  // Text messages still need text; captions have the text limit.
  await assert.rejects(hal.request('send', { to: 'ivy', text: ' ', clientId: 'h-7' }), (e: RequestError) => e.code === 'bad_request');
  await assert.rejects(hal.request('send', { to: 'ivy', text: 'x'.repeat(4001), media: own, clientId: 'h-8' }), (e: RequestError) => e.code === 'too_large');
  await assert.rejects(hal.request('send', { to: 'ivy', text: '', media: 'not an id!', clientId: 'h-9' }), (e: RequestError) => e.code === 'bad_request');
  hal.close();
  ivy.close();
});

test('bad uploads, each with its code: not an image, truncated, huge dimensions, SVG, a lying content type, no token', async () => {
  const token = await loginHttp(srv.http, 'jon');
  const before = blobFiles(srv, 'p').length;
  const jpeg = await noiseJpeg(200, 150, 31);
  const cases: [string, Buffer, string | undefined, number, string][] = [
    ['a text file', TEXT, 'text/plain', 415, 'unsupported_media'],
    ['a text file declared as a JPEG', TEXT, 'image/jpeg', 415, 'unsupported_media'],
    ['an SVG', SVG, 'image/svg+xml', 415, 'unsupported_media'],
    ['an SVG declared as a PNG', SVG, 'image/png', 415, 'unsupported_media'],
    ['a truncated JPEG', jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 'image/jpeg', 400, 'bad_request'],
    ['a JPEG cut after its header', jpeg.subarray(0, 40), 'image/jpeg', 400, 'bad_request'],
    ['a PNG claiming 100000x100000 pixels', await pngClaiming(100_000, 100_000), 'image/png', 413, 'too_large'],
    ['a PNG claiming 8000x8000 pixels (over 50 MP)', await pngClaiming(8000, 8000), 'image/png', 413, 'too_large'],
    ['an empty body', Buffer.alloc(0), 'image/jpeg', 415, 'unsupported_media'],
  ];
  for (const [what, body, type, status, code] of cases) {
    const r = await upload(srv.http, token, body, type);
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error.code, code, what);
  }
  assert.match((await upload(srv.http, token, SVG, 'image/svg+xml')).json.error.message, /SVG/);
  assert.equal(blobFiles(srv, 'p').length, before, 'nothing refused was stored');

  // A lying content type does not change the type: PNG bytes declared as JPEG are a PNG.
  const png = await upload(srv.http, token, await solidPng(20, 10), 'image/jpeg');
  assert.equal(png.status, 201);
  assert.equal(png.json.media.mime, 'image/png');
  // No token, a bad token.
  assert.equal((await http(srv.http, '/v1/media', { method: 'POST', body: jpeg })).json.error.code, 'unauthorized');
  assert.equal((await upload(srv.http, 'x'.repeat(40), jpeg)).status, 401);
});

test('the same picture uploaded twice is stored once', async () => {
  const token = await loginHttp(srv.http, 'kai');
  const img = await noiseJpeg(120, 90, 41);
  const pictures = blobFiles(srv, 'p').length;
  const thumbs = blobFiles(srv, 't').length;
  const first = await upload(srv.http, token, img);
  const second = await upload(srv.http, token, img, 'application/octet-stream');
  assert.equal(first.status, 201);
  assert.equal(second.status, 201);
  assert.notEqual(first.json.media.id, second.json.media.id, 'two uploads');
  assert.equal(blobFiles(srv, 'p').length, pictures + 1, 'one stored picture');
  assert.equal(blobFiles(srv, 't').length, thumbs + 1, 'one stored thumbnail');
});

test('limits: an upload over MEDIA_MAX_BYTES, a picture over MEDIA_MAX_PIXELS, uploads over UPLOAD_RATE / UPLOAD_BURST', async () => {
  const small = await startServer({ MEDIA_MAX_BYTES: '20000', MEDIA_MAX_PIXELS: '250000', UPLOAD_RATE: '1', UPLOAD_BURST: '3' });
  try {
    const token = await loginHttp(small.http, 'lena');
    const big = await noiseJpeg(400, 400, 51);
    assert.ok(big.length > 20000, `fixture over the limit (${big.length})`);
    const over = await upload(small.http, token, big, 'image/jpeg');
    assert.equal(over.status, 413);
    assert.equal(over.json.error.code, 'too_large');
    const pixels = await upload(small.http, token, await solidPng(600, 500));
    assert.equal(pixels.status, 413);
    assert.equal(pixels.json.error.code, 'too_large');
    assert.match(pixels.json.error.message, /600x500/);
    const fits = await upload(small.http, token, await solidPng(500, 500));
    assert.equal(fits.status, 201);
    // Three tokens in the bucket, all taken (refused uploads count too): the next waits about a minute.
    const limited = await upload(small.http, token, await solidPng(10, 10));
    assert.equal(limited.status, 429);
    assert.equal(limited.json.error.code, 'rate_limited');
    assert.ok(limited.json.error.retryAfterMs > 30_000 && limited.json.error.retryAfterMs <= 60_000, String(limited.json.error.retryAfterMs));
    assert.ok(Number(limited.headers.get('retry-after')) >= 30);
    // Another user has their own bucket.
    assert.equal((await upload(small.http, await loginHttp(small.http, 'mona'), await solidPng(10, 10))).status, 201);
  } finally {
    await small.close();
  }
});

test('a node decodes MEDIA_PROCESSING_CONCURRENCY pictures at once and queues MEDIA_PROCESSING_QUEUE: more uploads get unavailable (503) and the node keeps serving', async () => {
  const busy = await startServer({ MEDIA_PROCESSING_CONCURRENCY: '1', MEDIA_PROCESSING_QUEUE: '1', UPLOAD_BURST: '1000', UPLOAD_RATE: '100000' });
  try {
    const tokens = await Promise.all(['ora', 'pia', 'quin', 'rhea'].map((u) => loginHttp(busy.http, u)));
    // Eight different photos (~2 MP each) at once from four users: two fit (one decoding, one waiting).
    const photos = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => noiseJpeg(1600, 1200, 70 + i)));
    const replies = await Promise.all(photos.map((p, i) => upload(busy.http, tokens[i % 4]!, p, 'image/jpeg')));
    const statuses = replies.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 201 || s === 503), statuses.join(' '));
    const refused = replies.filter((r) => r.status === 503);
    assert.ok(refused.length >= 1 && refused.length <= 6, `some refused, some stored: ${statuses.join(' ')}`);
    for (const r of refused) {
      assert.equal(r.json.error.code, 'unavailable');
      assert.match(r.json.error.message, /busy/);
      assert.equal(r.json.error.retryAfterMs, 1000);
      assert.equal(r.headers.get('retry-after'), '1');
    }
    // Every stored one is whole, and the refused ones stored nothing.
    const stored = replies.filter((r) => r.status === 201);
    for (const r of stored) assert.deepEqual([r.json.media.width, r.json.media.height], [1600, 1200]);
    assert.equal(blobFiles(busy, 'p').length, stored.length, 'one blob per stored upload, none for the refused');
    // Once the burst is over, uploads and chat go on.
    const retry = await upload(busy.http, tokens[0]!, photos[statuses.indexOf(503)]!, 'image/jpeg');
    assert.equal(retry.status, 201, 'the refused upload goes through when retried');
    const a = await Client.login(busy.url, { username: 'ora' });
    const b = await Client.login(busy.url, { username: 'pia' });
    await a.request('send', { to: 'pia', text: 'still here', clientId: 'busy-1' });
    await b.until(() => b.messages.some((m) => m.text === 'still here'), 5000, 'the message after the burst');
    const metrics = await (await fetch(`${busy.http}/metrics`)).text();
    assert.match(metrics, new RegExp(`parley_media_busy_total\\{[^}]*\\} ${refused.length}\\b`));
    a.close();
    b.close();
  } finally {
    await busy.close();
  }
});

test('uploads never sent are deleted after MEDIA_UNSENT_TTL_MS; sent ones and shared blobs stay; URLs expire after MEDIA_URL_TTL_MS', async () => {
  const s = await startServer({ MEDIA_UNSENT_TTL_MS: '1500', MEDIA_URL_TTL_MS: '1000' });
  try {
    const nia = await Client.login(s.url, { username: 'nia' });
    await Client.login(s.url, { username: 'oto' }).then((c) => c.close());
    const kept = (await upload(s.http, nia.token, await noiseJpeg(60, 60, 61))).json.media.id as string;
    const lonely = (await upload(s.http, nia.token, await noiseJpeg(60, 60, 62))).json.media.id as string;
    const shared = await noiseJpeg(60, 60, 63);
    const sharedSent = (await upload(s.http, nia.token, shared)).json.media.id as string;
    const sharedUnsent = (await upload(s.http, nia.token, shared)).json.media.id as string;
    assert.equal(blobFiles(s, 'p').length, 3);
    const sentKept = await sendPicture(nia, 'oto', kept, 'kept');
    await sendPicture(nia, 'oto', sharedSent, 'shared');
    const oldUrl = sentKept.message.picture!.url;
    assert.equal((await http(s.http, oldUrl)).status, 200);

    // The sweep runs every quarter of the time to live. The two unsent uploads expire tens of
    // milliseconds apart (more on a slow machine), so one round may take the first only: wait for both rows.
    const deadline = Date.now() + 8000;
    const unsentLeft = async () => (await queryDatabase(s.databaseUrl, `SELECT id FROM media WHERE id IN ('${lonely}', '${sharedUnsent}')`)).length;
    while (Date.now() < deadline && (blobFiles(s, 'p').length + blobFiles(s, 't').length > 4 || (await unsentLeft()) > 0)) await sleep(100);
    assert.equal(await unsentLeft(), 0, 'both unsent uploads were swept');
    assert.equal(blobFiles(s, 'p').length, 2, 'only the never-sent picture is gone; the shared blob stays for its sent upload');
    assert.equal(blobFiles(s, 't').length, 2);
    await assert.rejects(nia.request('send', { to: 'oto', text: '', media: lonely, clientId: 'late' }), (e: RequestError) => e.code === 'not_found');
    await assert.rejects(nia.request('send', { to: 'oto', text: '', media: sharedUnsent, clientId: 'late2' }), (e: RequestError) => e.code === 'not_found');
    // A sent upload outlives the time to live, and can be sent again.
    await sendPicture(nia, 'oto', kept, 'again');

    // Once the link handed out at first has expired (1 s, rounded up by at most a quarter): 403, never the bytes.
    const expiresAt = sentKept.message.picture!.expiresAt;
    assert.ok(expiresAt <= sentKept.message.sentAt + 2000, 'expiry is MEDIA_URL_TTL_MS, rounded up by at most a quarter of it');
    await sleep(Math.max(0, expiresAt - Date.now() + 50));
    const expired = await http(s.http, oldUrl);
    assert.equal(expired.status, 403);
    assert.match(expired.json.error.message, /expired/);
    // Reading the message again signs it afresh.
    const hist = await nia.request('history', { conversationId: sentKept.message.conversationId });
    const fresh = hist.messages.find((m) => m.text === 'kept')!.picture!;
    assert.notEqual(fresh.url, oldUrl);
    assert.ok(fresh.expiresAt > Date.now());
    assert.equal((await http(s.http, fresh.url)).status, 200);
    nia.close();
  } finally {
    await s.close();
  }
});

test('media settings: defaults, and bad values named', () => {
  const c = loadConfig({});
  assert.equal(c.mediaStore, 'disk');
  assert.equal(c.mediaDir, './data/media');
  assert.equal(c.mediaMaxBytes, 10 * 1024 * 1024);
  assert.equal(c.mediaSecret, '');
  assert.throws(() => loadConfig({ MEDIA_STORE: 'ftp' }), /MEDIA_STORE must be disk or s3/);
  assert.throws(() => loadConfig({ MEDIA_STORE: 's3' }), /MEDIA_S3_BUCKET must be set/);
  assert.throws(() => loadConfig({ MEDIA_SECRET: 'short' }), /MEDIA_SECRET must be a string of at least 32/);
  assert.throws(() => loadConfig({ MEDIA_S3_ACCESS_KEY_ID: 'AKIA' }), /set together/);
  assert.throws(() => loadConfig({ UPLOAD_RATE: '0' }), /UPLOAD_RATE/);
  assert.deepEqual([c.mediaProcessingConcurrency, c.mediaProcessingQueue], [2, 16]);
  assert.throws(() => loadConfig({ MEDIA_PROCESSING_CONCURRENCY: '0' }), /MEDIA_PROCESSING_CONCURRENCY/);
  assert.throws(() => loadConfig({ MEDIA_PROCESSING_QUEUE: '-1' }), /MEDIA_PROCESSING_QUEUE/);
  const s3 = loadConfig({ MEDIA_STORE: 's3', MEDIA_S3_BUCKET: 'pics', MEDIA_S3_FORCE_PATH_STYLE: 'true', MEDIA_S3_ENDPOINT: 'http://127.0.0.1:9000' });
  assert.equal(s3.mediaS3ForcePathStyle, true);
});

test('without MEDIA_SECRET a node keeps the key it generated in MEDIA_DIR: its URLs survive a restart', async () => {
  const dir = tempDir('parley-secret-');
  try {
    const first = await startServer({ MEDIA_DIR: dir.dir });
    let url: string;
    try {
      const pat = await Client.login(first.url, { username: 'pat' });
      const id = (await upload(first.http, pat.token, await solidPng(12, 12))).json.media.id as string;
      url = (await sendPicture(pat, 'pat', id)).message.picture!.url;
      pat.close();
    } finally {
      await first.close();
    }
    assert.equal(statSync(join(dir.dir, 'url-secret')).mode & 0o777, 0o600, 'kept private');
    // Same directory, fresh database: the signature is accepted (the upload is simply not there).
    const second = await startServer({ MEDIA_DIR: dir.dir });
    try {
      assert.equal((await http(second.http, url)).status, 404);
    } finally {
      await second.close();
    }
    // Another key: the same URL is a forgery.
    const third = await startServer();
    try {
      assert.equal((await http(third.http, url)).status, 403);
    } finally {
      await third.close();
    }
  } finally {
    dir.cleanup();
  }
});

test('the OpenAPI document and the frame schemas describe pictures', async () => {
  const doc = (await http(srv.http, '/openapi.json')).json;
  assert.ok(doc.paths['/v1/media'].post.requestBody.content['application/octet-stream'], 'upload body');
  assert.ok(doc.paths['/v1/media'].post.responses['201'], 'upload reply');
  assert.ok(doc.paths['/v1/media'].post.responses['415'], 'unsupported_media documented');
  for (const path of ['/v1/media/{id}', '/v1/media/{id}/thumb']) {
    const get = doc.paths[path].get;
    assert.deepEqual(get.parameters.map((p: { name: string }) => p.name).sort(), ['expires', 'id', 'sig'], path);
    assert.ok(get.responses['206'] && get.responses['403'] && get.responses['404'], path);
  }
  const sendBody = doc.paths['/v1/messages'].post.requestBody.content['application/json'].schema;
  assert.ok(JSON.stringify(sendBody).includes('"media"'), 'send takes media');
  const proto = (await http(srv.http, '/v1/protocol.json')).json;
  assert.equal(proto.errors.unsupported_media.status, 415);
  assert.ok(JSON.stringify(proto.clientFrames.send).includes('"media"'));
});
