import type { Readable } from 'node:stream';

/**
 * MediaStore: where the bytes of pictures and thumbnails live. The database
 * holds what they are (the `media` rows); this holds only bytes, by key.
 *
 * Contract every adapter keeps (tested by one shared suite, test/media-port.ts,
 * against each adapter):
 *
 * - Keys are content-addressed: the caller names a blob by the SHA-256 of its
 *   bytes (`<kind>/<hex>.<ext>`, lower-case letters, digits, `/`, `.`, `-`).
 *   Putting a key that already exists therefore stores nothing new and must
 *   succeed: the same picture sent twice is stored once.
 * - `put` is atomic: a reader sees either no blob or the whole blob, never a
 *   part of it, also when the process dies half-way.
 * - `get` streams the whole blob or an inclusive byte range of it; a missing
 *   key is `undefined`, not an error.
 * - `delete` of a missing key succeeds. Callers delete a key only when no
 *   `media` row refers to it any more.
 * - Any other failure (disk full, the S3 service unreachable) rejects.
 */
export interface MediaStore {
  /** Stores `data` under `key` unless the key exists already. */
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /** The size of a stored blob; undefined when there is none. */
  head(key: string): Promise<{ size: number } | undefined>;
  /** The blob's bytes, or `range` of them (inclusive `end`); undefined when there is none. */
  get(key: string, range?: { start: number; end: number }): Promise<Readable | undefined>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** A key a MediaStore accepts: what the service produces, and nothing that could leave the store's directory or bucket prefix. */
export const MEDIA_KEY = /^[a-z0-9]+\/[0-9a-f]{64}\.[a-z0-9]{2,5}$/;
