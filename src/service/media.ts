/**
 * Pictures: decoding and re-encoding uploads with sharp (type from the
 * content, pixel limit, orientation applied, metadata stripped), thumbnails
 * and placeholders, content-addressed storage behind the MediaStore port,
 * HMAC-signed expiring URLs, and the sweep of uploads never sent.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import sharp, { type Metadata } from 'sharp';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { MediaStore } from '../ports/media.js';
import type { Store, StoredMedia, StoredPicture } from '../ports/store.js';
import type { MediaInfo, Picture, UploadResult } from '../protocol/schemas.js';
import type { Session } from './chat.js';
import { Gate } from './gate.js';
import { RateLimiter } from './rate-limit.js';
import type { PictureUrls } from './views.js';

// Uploads are seldom decoded twice; libvips' operation cache would only hold memory.
sharp.cache(false);

/** Formats accepted, by their first bytes; what each is stored as. */
type Format = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif';
const STORED_AS: Record<Format, { mime: string; ext: string }> = {
  jpeg: { mime: 'image/jpeg', ext: 'jpg' },
  png: { mime: 'image/png', ext: 'png' },
  webp: { mime: 'image/webp', ext: 'webp' },
  gif: { mime: 'image/png', ext: 'png' }, // the first frame
  avif: { mime: 'image/webp', ext: 'webp' },
};

/** The thumbnail's longest side, and the placeholder's. */
export const THUMB_SIZE = 320;
export const PLACEHOLDER_SIZE = 16;
const PLACEHOLDER_MAX_BYTES = 700; // raw WebP; as a base64 data URL it stays under 1 KB

/** The picture format of `b`, from its signature bytes only (never a file name or a declared type). */
export function sniff(b: Buffer): Format | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.toString('latin1', 0, 6))) return 'gif';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp' && ['avif', 'avis'].includes(b.toString('latin1', 8, 12))) return 'avif';
  return undefined;
}

const looksLikeSvg = (b: Buffer) => /<svg[\s>]/i.test(b.toString('utf8', 0, Math.min(b.length, 4096)));

interface Processed {
  format: Format;
  full: Buffer;
  width: number;
  height: number;
  thumb: Buffer;
  thumbWidth: number;
  thumbHeight: number;
  placeholder: string;
}

/**
 * The secret of a single node without MEDIA_SECRET: generated on first use
 * and kept in `dir`, so that URLs survive a restart. Several nodes must share
 * one MEDIA_SECRET instead.
 */
export function fileSecret(dir: string): () => Buffer {
  let key: Buffer | undefined;
  return () => {
    if (key) return key;
    const path = join(dir, 'url-secret');
    try {
      key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
    } catch {
      mkdirSync(dir, { recursive: true });
      try {
        writeFileSync(path, randomBytes(32).toString('base64url'), { flag: 'wx', mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process on this directory made it first
      }
      key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
    }
    if (key.length < 16) throw new Error(`${path} holds no usable secret`);
    return key;
  };
}

/** A picture (or its thumbnail) ready to stream: what the HTTP edge needs for its answer. */
export interface ServedMedia {
  /** 200 everything, 206 `range`, 304 not modified (If-None-Match), 416 range not satisfiable. */
  status: 200 | 206 | 304 | 416;
  mime: string;
  /** Size of the whole blob. */
  size: number;
  /** The part sent (inclusive end), with 206. */
  range: { start: number; end: number } | undefined;
  /** Strong validator: the content hash. */
  etag: string;
  /** The bytes, with 200 and 206. */
  body: Readable | undefined;
}

export type MediaVariant = 'full' | 'thumb';

/**
 * Parses a single `Range: bytes=...` header against a blob of `size` bytes.
 * undefined: no usable range (serve everything); 'unsatisfiable': answer 416.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // several ranges or nonsense: the whole blob
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export class MediaService implements PictureUrls {
  private readonly limiter: RateLimiter;
  /** Decoding a picture takes memory in proportion to its pixels: only so many at once per node. */
  private readonly gate: Gate;
  private readonly locks = new Map<string, Promise<void>>();
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private sweeping: Promise<number> | undefined;
  readonly stats = { uploads: 0, uploadBytes: 0, refused: 0, swept: 0 };

  constructor(
    private readonly store: Store,
    private readonly blobs: MediaStore,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly secret: () => Buffer,
    private readonly now: () => number = Date.now,
  ) {
    this.limiter = new RateLimiter(config.uploadRatePerMin / 60, config.uploadBurst, now);
    this.gate = new Gate(config.mediaProcessingConcurrency, config.mediaProcessingQueue, 'pictures');
  }

  /** Uploads decoding or waiting to, and uploads refused because too many were (for metrics). */
  get processing(): { busy: number; refused: number } {
    return { busy: this.gate.busy, refused: this.gate.stats.refused };
  }

  // ------------------------------------------------------------ upload

  /**
   * Checked before the body is read: `unavailable` when this node has too
   * many pictures to decode already, else takes one upload token of the
   * user (`rate_limited` when there is none).
   */
  admit(session: Session): void {
    this.gate.check();
    const wait = this.limiter.take(session.userId);
    if (wait > 0) throw new AppError('rate_limited', 'uploading too fast', wait);
  }

  /** Decodes, cleans and stores an upload; the reply a client lays the picture out with. */
  async upload(session: Session, data: Buffer): Promise<UploadResult> {
    let p: Processed;
    try {
      p = await this.gate.run(() => this.process(data));
    } catch (err) {
      this.stats.refused++;
      throw err;
    }
    const { mime, ext } = STORED_AS[p.format];
    const media: StoredMedia = {
      id: randomBytes(16).toString('base64url'),
      uploaderId: session.userId,
      key: `p/${sha256(p.full)}.${ext}`,
      mime,
      size: p.full.length,
      width: p.width,
      height: p.height,
      thumbKey: `t/${sha256(p.thumb)}.webp`,
      thumbWidth: p.thumbWidth,
      thumbHeight: p.thumbHeight,
      placeholder: p.placeholder,
      createdAt: this.now(),
      sentAt: null,
    };
    // The row is written while the keys are held, so a sweep on this node cannot delete the blobs in between.
    await this.withKeys([media.key, media.thumbKey], async () => {
      await this.blob('put', () => Promise.all([
        this.blobs.put(media.key, p.full, mime),
        this.blobs.put(media.thumbKey, p.thumb, 'image/webp'),
      ]));
      await this.store.createMedia(media);
    });
    this.stats.uploads++;
    this.stats.uploadBytes += data.length;
    const info: MediaInfo = { id: media.id, mime, width: media.width, height: media.height, size: media.size, placeholder: media.placeholder };
    return { media: info };
  }

  private async process(data: Buffer): Promise<Processed> {
    const format = sniff(data);
    if (!format) {
      if (looksLikeSvg(data)) throw new AppError('unsupported_media', 'SVG pictures are not accepted: send JPEG, PNG, WebP, GIF or AVIF');
      throw new AppError('unsupported_media', 'not a picture in a supported format (JPEG, PNG, WebP, GIF or AVIF)');
    }
    let meta: Metadata;
    try {
      // The header only: no pixel limit yet, so that an oversized picture is told apart from a damaged one below.
      meta = await sharp(data, { limitInputPixels: false }).metadata();
    } catch {
      throw new AppError('bad_request', 'the picture could not be read: it is damaged or truncated');
    }
    // The decoder must agree with the signature: nothing is decoded as another format than it claims to be.
    const agrees = format === 'avif' ? meta.format === 'heif' && meta.compression === 'av1' : meta.format === format;
    if (!agrees || !meta.width || !meta.height) throw new AppError('unsupported_media', 'not a picture in a supported format (JPEG, PNG, WebP, GIF or AVIF)');
    // Refused from the header alone, before a single pixel is decoded: no decompression bombs.
    const pixels = meta.width * (meta.pageHeight ?? meta.height);
    if (pixels > this.config.mediaMaxPixels) {
      throw new AppError('too_large', `the picture has ${meta.width}x${meta.pageHeight ?? meta.height} pixels; at most ${this.config.mediaMaxPixels} are accepted`);
    }
    // failOn 'error': truncated or corrupt pixel data fails; harmless decoder warnings, common in camera files, do not.
    const base = sharp(data, { limitInputPixels: this.config.mediaMaxPixels, failOn: 'error', pages: 1 }).autoOrient();
    try {
      const full = base.clone();
      if (format === 'jpeg') full.jpeg({ quality: 85 });
      else if (STORED_AS[format].ext === 'png') full.png();
      else full.webp({ quality: 85 });
      // Without withMetadata() sharp writes no EXIF, XMP, IPTC or GPS, and converts to sRGB.
      const thumbFit = { fit: 'inside' as const, withoutEnlargement: true };
      const [f, t, ph] = await Promise.all([
        full.toBuffer({ resolveWithObject: true }),
        base.clone().resize(THUMB_SIZE, THUMB_SIZE, thumbFit).webp({ quality: 75 }).toBuffer({ resolveWithObject: true }),
        base.clone().resize(PLACEHOLDER_SIZE, PLACEHOLDER_SIZE, { fit: 'inside' }).flatten({ background: '#ffffff' }).webp({ quality: 40 }).toBuffer(),
      ]);
      let placeholder = ph;
      if (placeholder.length > PLACEHOLDER_MAX_BYTES) {
        placeholder = await sharp(ph).webp({ quality: 5 }).toBuffer();
      }
      return {
        format, full: f.data, width: f.info.width, height: f.info.height,
        thumb: t.data, thumbWidth: t.info.width, thumbHeight: t.info.height,
        placeholder: `data:image/webp;base64,${placeholder.toString('base64')}`,
      };
    } catch (err) {
      if (/pixel limit/i.test((err as Error).message)) throw new AppError('too_large', `the picture has more than ${this.config.mediaMaxPixels} pixels`);
      throw new AppError('bad_request', 'the picture could not be decoded: it is damaged or truncated');
    }
  }

  // ------------------------------------------------------------ signed URLs

  /**
   * The picture of a message with URLs signed now. Expiry is rounded up to a
   * quarter of MEDIA_URL_TTL_MS, so every serialisation within that window
   * yields the same URLs (which browsers can cache), each valid at least
   * MEDIA_URL_TTL_MS.
   */
  sign(p: StoredPicture): Picture {
    const ttl = this.config.mediaUrlTtlMs;
    const step = Math.max(1000, Math.floor(ttl / 4));
    const expiresAt = Math.ceil((this.now() + ttl) / step) * step;
    return {
      id: p.id, mime: p.mime, width: p.width, height: p.height, placeholder: p.placeholder,
      url: this.url(p.id, 'full', expiresAt), thumbUrl: this.url(p.id, 'thumb', expiresAt),
      thumbWidth: p.thumbWidth, thumbHeight: p.thumbHeight, expiresAt,
    };
  }

  private url(id: string, variant: MediaVariant, expires: number): string {
    return `/v1/media/${id}${variant === 'thumb' ? '/thumb' : ''}?expires=${expires}&sig=${this.signature(id, variant, expires)}`;
  }

  private signature(id: string, variant: MediaVariant, expires: number): string {
    return createHmac('sha256', this.secret()).update(`parley-media-v1\n${id}\n${variant}\n${expires}`).digest('base64url');
  }

  /**
   * Checks a signed URL and opens the bytes it names. A bad or expired
   * signature is `forbidden` whatever the id; a signed id whose upload is
   * gone is `not_found`.
   */
  async open(id: string, variant: MediaVariant, expires: number, sig: string, conditions: { range?: string; ifNoneMatch?: string } = {}): Promise<ServedMedia> {
    const expected = Buffer.from(this.signature(id, variant, expires));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AppError('forbidden', 'the link is not valid');
    if (expires <= this.now()) throw new AppError('forbidden', 'the link has expired');
    const media = await this.store.media(id);
    if (!media) throw new AppError('not_found', 'no such picture');
    const key = variant === 'thumb' ? media.thumbKey : media.key;
    const head = await this.blob('head', () => this.blobs.head(key));
    if (!head) throw new AppError('not_found', 'no such picture');
    const served = { mime: variant === 'thumb' ? 'image/webp' : media.mime, size: head.size, etag: `"${key.slice(2, 66)}"`, range: undefined, body: undefined };
    if (conditions.ifNoneMatch?.split(/\s*,\s*/).includes(served.etag)) return { ...served, status: 304 };
    const r = parseRange(conditions.range, head.size);
    if (r === 'unsatisfiable') return { ...served, status: 416 };
    const body = await this.blob('get', () => this.blobs.get(key, r));
    if (!body) throw new AppError('not_found', 'no such picture');
    return { ...served, status: r ? 206 : 200, range: r, body };
  }

  // ------------------------------------------------------------ unsent uploads

  /** Starts the periodic sweep of uploads never sent within MEDIA_UNSENT_TTL_MS. */
  start(): void {
    const every = Math.min(600_000, Math.max(250, Math.floor(this.config.mediaUnsentTtlMs / 4)));
    this.sweeper ??= setInterval(() => {
      this.sweep().catch((err: unknown) => this.log.warn({ err }, 'sweep of unsent uploads failed'));
    }, every);
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.sweeping?.catch(() => 0);
  }

  /** Deletes uploads never sent within MEDIA_UNSENT_TTL_MS, and the blobs no other upload uses. Returns how many. */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepOnce().finally(() => { this.sweeping = undefined; });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const gone = await this.store.deleteUnsentMedia(this.now() - this.config.mediaUnsentTtlMs, 500);
      total += gone.length;
      for (const key of new Set(gone.flatMap((m) => [m.key, m.thumbKey]))) {
        await this.withKeys([key], async () => {
          // Content-addressed: another upload of the same picture may still use the blob.
          if ((await this.store.mediaKeysInUse([key])).has(key)) return;
          await this.blobs.delete(key);
        });
      }
      if (gone.length < 500) break;
    }
    if (total > 0) {
      this.stats.swept += total;
      this.log.info({ uploads: total }, 'deleted uploads that were never sent');
    }
    return total;
  }

  // ------------------------------------------------------------ helpers

  /** Runs `fn` holding these keys on this node: an upload and the sweep never interleave on one blob. */
  private async withKeys<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const releases: (() => void)[] = [];
    try {
      for (const key of [...new Set(keys)].sort()) releases.push(await this.lock(key));
      return await fn();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async lock(key: string): Promise<() => void> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => { release = resolve; });
    const tail = previous.then(() => mine);
    this.locks.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.locks.get(key) === tail) this.locks.delete(key);
    };
  }

  /** A MediaStore call; its failures reach clients as the retryable `unavailable`. */
  private async blob<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.log.error({ err, op: what }, 'media storage call failed');
      throw new AppError('unavailable', 'picture storage is unavailable; retry');
    }
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
