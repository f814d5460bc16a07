/** The benchmark scenarios. Each returns a flat record of figures. */
import sharp from 'sharp';
import { median, ms, now, openMany, percentile, RawClient, sleep } from './load.js';

export type Figures = Record<string, number | string>;

/**
 * N users, each with one connection, sending 1:1 messages to other users at a
 * fixed total rate. Latency is from the send call to the push arriving at the
 * recipient's connection (both ends in this process, one clock).
 *
 * The generator shares the machine with the server, so it is kept lean:
 * message k has request id `s<k>` and client id `<run>-<k>`, its times and
 * counts live in typed arrays indexed by k, and acks and pushes are read with
 * indexOf instead of JSON.parse. Big Maps of string keys made the generator's
 * own garbage collection show up as server latency.
 */
export async function throughput(o: { urls: string[]; users: number; rate: number; duration: number; warmup: number; pick?: (i: number, n: number, k: number) => number }): Promise<Figures> {
  const names = Array.from({ length: o.users }, (_, i) => `tp${i}`);
  const clients = await openMany(o.users, 64, (i) => RawClient.open(o.urls[i % o.urls.length]!).then((c) => c.login(names[i]!)));
  // Client ids are unique per run: a repeated id would be answered as a retry of an earlier run.
  const run = Date.now().toString(36);
  const capacity = Math.ceil(o.rate * (o.warmup + o.duration + 1)) + 1000;
  const sentAt = new Float64Array(capacity);
  const seen = new Uint8Array(capacity);
  const ackedAt = new Float64Array(capacity);
  const e2e: number[] = [];
  const ackLatency: number[] = [];
  const errors: Record<string, number> = {};
  let acked = 0;
  let duplicateAcks = 0;
  const start = now();
  const measuredFrom = start + o.warmup * 1000;
  const end = measuredFrom + o.duration * 1000;

  const RESULT = '{"type":"result","id":"s';
  const ERROR = '{"type":"error","id":"s';
  const PUSH = '{"type":"message",';
  const CLIENT_ID = `"clientId":"${run}-`;
  const indexAt = (s: string, from: number) => Number(s.slice(from, s.indexOf('"', from)));
  const onText = (s: string): boolean => {
    const t = now();
    if (s.startsWith(PUSH)) {
      const at = s.indexOf(CLIENT_ID);
      if (at < 0) return true; // a push of an earlier run
      const k = indexAt(s, at + CLIENT_ID.length);
      if (seen[k]! < 255) seen[k]!++;
      if (seen[k] === 1 && sentAt[k]! >= measuredFrom) e2e.push(t - sentAt[k]!);
      return true;
    }
    if (s.startsWith(RESULT)) {
      const k = indexAt(s, RESULT.length);
      acked++;
      if (s.includes('"duplicate":true')) duplicateAcks++;
      ackedAt[k] = t;
      if (sentAt[k]! >= measuredFrom) ackLatency.push(t - sentAt[k]!);
      return true;
    }
    if (s.startsWith(ERROR)) {
      const code = (JSON.parse(s) as { error?: { code?: string } }).error?.code ?? 'unknown';
      errors[code] = (errors[code] ?? 0) + 1;
      return true;
    }
    return false;
  };
  for (const c of clients) c.onText = onText;

  // Each user writes to five regular partners, as people do (new conversations are rarer than messages).
  const pick = o.pick ?? ((i, n, k) => (i + 1 + (k % Math.min(5, n - 1))) % n);
  let sent = 0;
  while (now() < end && sent < capacity) {
    const due = Math.min(capacity, Math.floor(((now() - start) / 1000) * o.rate));
    for (; sent < due; sent++) {
      const i = sent % o.users;
      const to = names[pick(i, o.users, Math.floor(sent / o.users))]!;
      const t = now();
      sentAt[sent] = t;
      clients[i]!.sendText(`{"type":"send","id":"s${sent}","clientId":"${run}-${sent}","to":"${to}","text":"${t}"}`);
    }
    await sleep(1);
  }
  // The measured messages: sent after the warm-up.
  let first = 0;
  while (first < sent && sentAt[first]! < measuredFrom) first++;
  let measuredAcked = 0;
  for (let k = first; k < sent; k++) if (ackedAt[k]! > 0) measuredAcked++;
  // Drain: wait until every acknowledged measured message arrived, or give up after 5 s.
  const missing = () => {
    let n = 0;
    for (let k = first; k < sent; k++) if (ackedAt[k]! > 0 && seen[k] === 0) n++;
    return n;
  };
  const drainUntil = now() + 5000;
  while (now() < drainUntil && missing() > 0) await sleep(20);
  const lost = missing();
  let duplicates = 0;
  for (let k = 0; k < sent; k++) if (seen[k]! > 1) duplicates++;
  for (const c of clients) c.close();
  e2e.sort((a, b) => a - b);
  ackLatency.sort((a, b) => a - b);
  return {
    users: o.users, target_rate: o.rate, sent, acked,
    delivered_per_s: Math.round(e2e.length / o.duration),
    e2e_p50_ms: ms(percentile(e2e, 50)), e2e_p95_ms: ms(percentile(e2e, 95)), e2e_p99_ms: ms(percentile(e2e, 99)), e2e_max_ms: ms(e2e[e2e.length - 1] ?? NaN),
    ack_p50_ms: ms(percentile(ackLatency, 50)), ack_p99_ms: ms(percentile(ackLatency, 99)),
    measured_acked: measuredAcked, lost, duplicates, duplicate_acks: duplicateAcks, errors: JSON.stringify(errors),
  };
}

/** A device offline while 1,000 messages arrive from 4 senders; time from its sync request to having all of them. */
export async function catchup(o: { url: string; runs: number; messages: number }): Promise<Figures> {
  const times: number[] = [];
  for (let run = 0; run < o.runs; run++) {
    const tag = `${Date.now().toString(36)}${run}`;
    const rcpt = await (await RawClient.open(o.url)).login(`cu${tag}`);
    const token = ((await rcpt.request('sync', {})).result as { token: string }).token;
    const sessionToken = rcpt.token;
    rcpt.close();
    const senders = await Promise.all([0, 1, 2, 3].map(async (k) => (await RawClient.open(o.url)).login(`cs${tag}x${k}`)));
    let acks = 0;
    await new Promise<void>((resolve) => {
      for (let n = 0; n < o.messages; n++) {
        senders[n % 4]!.send(`cu${tag}`, `missed ${n}`, `c${n}`, () => { if (++acks === o.messages) resolve(); });
      }
    });
    for (const s of senders) s.close();
    const back = await RawClient.open(o.url);
    const r = await back.request('login', { token: sessionToken });
    if (r.type !== 'result') throw new Error('resume failed');
    const t0 = now();
    let got = 0;
    let tok = token;
    for (;;) {
      const page = (await back.request('sync', { token: tok, limit: 1000 })).result as { messages: unknown[]; token: string; hasMore: boolean };
      got += page.messages.length;
      tok = page.token;
      if (!page.hasMore) break;
    }
    times.push(now() - t0);
    if (got !== o.messages) throw new Error(`catch-up got ${got} of ${o.messages}`);
    back.close();
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { runs: o.runs, messages: o.messages, catchup_median_ms: ms(median(times)), catchup_min_ms: ms(sorted[0]!), catchup_max_ms: ms(sorted[sorted.length - 1]!) };
}

/** Many logged-in idle connections; the server's resident memory per connection. */
export async function idle(o: { url: string; connections: number; rss: () => number }): Promise<Figures> {
  const warm = await openMany(200, 32, (i) => RawClient.open(o.url).then((c) => c.login(`idw${i}`)));
  await sleep(1000);
  const before = o.rss();
  // Several loopback source addresses: one address has ~28,000 ephemeral ports.
  const addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  const t0 = now();
  const conns = await openMany(o.connections, 64, (i) => RawClient.open(o.url, addresses[i % addresses.length]).then((c) => c.login(`id${i}`)));
  const openSeconds = (now() - t0) / 1000;
  await sleep(3000);
  const after = o.rss();
  for (const c of [...warm, ...conns]) c.close();
  return {
    connections: o.connections, rss_before_mib: ms(before / 2 ** 20), rss_after_mib: ms(after / 2 ** 20),
    bytes_per_connection: Math.round((after - before) / o.connections), connects_per_s: Math.round(o.connections / openSeconds),
  };
}

/**
 * The day offline: a user with `conversations` conversations of `history`
 * messages each is offline while `missed` messages arrive across `changed`
 * of them. Times the first page of the home-screen delta and the whole
 * catch-up, and counts the bytes the device receives.
 */
export async function home(o: { url: string; conversations: number; history: number; changed: number; missed: number }): Promise<Figures> {
  const tag = Date.now().toString(36);
  const me = `home${tag}`;
  const hub = await (await RawClient.open(o.url)).login(me);
  const peers = await openMany(o.conversations, 64, (i) => RawClient.open(o.url).then((c) => c.login(`hp${tag}x${i}`)));
  const sendAll = (from: RawClient[], count: (i: number) => number, prefix: string) => new Promise<void>((resolve) => {
    let pending = 0;
    let issued = false;
    from.forEach((c, i) => {
      for (let k = 0; k < count(i); k++) {
        pending++;
        c.send(me, `${prefix} ${k}`, `${prefix}${k}`, () => { if (--pending === 0 && issued) resolve(); });
      }
    });
    issued = true;
    if (pending === 0) resolve();
  });
  // History, in slices so the server's send queue stays bounded.
  for (let k = 0; k < o.history; k += 10) await sendAll(peers, () => Math.min(10, o.history - k), `h${k}-`);
  const lastSeq = o.history;
  void lastSeq;
  const token = ((await hub.request('sync', {})).result as { token: string }).token;
  const sessionToken = hub.token;
  hub.close();
  const changedPeers = peers.filter((_, i) => i % Math.floor(o.conversations / o.changed) === 0).slice(0, o.changed);
  await sendAll(changedPeers, (i) => Math.floor(o.missed / o.changed) + (i < o.missed % o.changed ? 1 : 0), 'missed');
  for (const p of peers) p.close();

  const back = await RawClient.open(o.url);
  let bytes = 0;
  back.ws.on('message', (d: Buffer) => { bytes += d.length; });
  await back.request('login', { token: sessionToken });
  const t0 = now();
  const first = (await back.request('conversations', { since: token, limit: 50 })).result as { conversations: unknown[]; next?: string };
  const firstPageMs = now() - t0;
  let conversations = first.conversations.length;
  let before = first.next;
  while (before) {
    const page = (await back.request('conversations', { since: token, limit: 50, before })).result as { conversations: unknown[]; next?: string };
    conversations += page.conversations.length;
    before = page.next;
  }
  const homeMs = now() - t0;
  let tok = token;
  let messages = 0;
  for (;;) {
    const page = (await back.request('sync', { token: tok, limit: 1000 })).result as { messages: unknown[]; token: string; hasMore: boolean };
    messages += page.messages.length;
    tok = page.token;
    if (!page.hasMore) break;
  }
  const totalMs = now() - t0;
  back.close();
  return {
    conversations: o.conversations, history_per_conversation: o.history, changed: o.changed, missed: o.missed,
    home_first_page_ms: ms(firstPageMs), home_all_changed_ms: ms(homeMs), home_conversations_sent: conversations,
    full_catchup_ms: ms(totalMs), messages_synced: messages, bytes_received: bytes,
  };
}

/** A photo-like JPEG (smooth gradients with grain, so it compresses like a photo), different for each `seed`. */
async function photo(width: number, height: number, seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let y = 0, i = 0; y < height; y++) {
    for (let c = 0; c < width; c++, i += 3) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      const grain = (x & 31) - 16;
      raw[i] = Math.max(0, Math.min(255, ((c * 255) / width + seed * 7 + grain) | 0));
      raw[i + 1] = Math.max(0, Math.min(255, ((y * 255) / height + grain) | 0));
      raw[i + 2] = Math.max(0, Math.min(255, (((c + y) * 128) / (width + height) + 64 + grain) | 0));
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/**
 * Picture uploads, one at a time: from the start of `POST /v1/media` to its
 * reply, by which the picture has been decoded, cleaned, re-encoded and
 * stored together with its thumbnail and placeholder; then, for the whole
 * path a recipient sees, until the thumbnail has been sent in a message and
 * downloaded through its signed URL.
 */
export async function media(o: { url: string; uploads: number; width: number; height: number }): Promise<Figures> {
  const base = o.url.replace(/^ws(s?):/, 'http$1:').replace(/\/v1\/ws$/, '');
  const tag = Date.now().toString(36);
  const sender = await (await RawClient.open(o.url)).login(`md${tag}`);
  const rcpt = await (await RawClient.open(o.url)).login(`mr${tag}`);
  const pictures = await Promise.all(Array.from({ length: o.uploads + 2 }, (_, i) => photo(o.width, o.height, i + 1)));
  const uploadMs: number[] = [];
  const thumbMs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < pictures.length; i++) {
    const t0 = now();
    const res = await fetch(`${base}/v1/media`, { method: 'POST', headers: { authorization: `Bearer ${sender.token}`, 'content-type': 'image/jpeg' }, body: pictures[i]! });
    const body = (await res.json()) as { media?: { id: string }; error?: { code: string } };
    if (res.status !== 201 || !body.media) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body)}`);
    const t1 = now();
    const sent = await sender.request('send', { to: `mr${tag}`, text: '', media: body.media.id, clientId: `m${i}` });
    const thumbUrl = (sent.result as { message: { picture: { thumbUrl: string } } }).message.picture.thumbUrl;
    const thumb = await fetch(base + thumbUrl);
    await thumb.arrayBuffer();
    if (thumb.status !== 200) throw new Error(`thumbnail fetch failed: ${thumb.status}`);
    const t2 = now();
    if (i < 2) continue; // warm-up
    uploadMs.push(t1 - t0);
    thumbMs.push(t2 - t0);
    bytes += pictures[i]!.length;
  }
  sender.close();
  rcpt.close();
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const up = sorted(uploadMs);
  const th = sorted(thumbMs);
  return {
    uploads: o.uploads, picture: `${o.width}x${o.height} JPEG`, mean_upload_kib: Math.round(bytes / o.uploads / 1024),
    upload_to_thumbnail_p50_ms: ms(percentile(up, 50)), upload_to_thumbnail_p95_ms: ms(percentile(up, 95)), upload_max_ms: ms(up[up.length - 1]!),
    to_thumbnail_downloaded_p50_ms: ms(percentile(th, 50)), to_thumbnail_downloaded_p95_ms: ms(percentile(th, 95)),
  };
}
