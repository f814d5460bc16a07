import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { MEDIA_KEY, type MediaStore } from '../ports/media.js';

const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Pictures as files under one directory: `<dir>/<kind>/<first two hex digits>/<hash>.<ext>`. */
export class DiskMediaStore implements MediaStore {
  constructor(private readonly dir: string) {}

  private path(key: string): string {
    if (!MEDIA_KEY.test(key)) throw new Error(`invalid media key ${JSON.stringify(key)}`);
    const [kind, file] = key.split('/') as [string, string];
    return join(this.dir, kind, file.slice(0, 2), file);
  }

  async put(key: string, data: Buffer): Promise<void> {
    const path = this.path(key);
    if (await this.head(key)) return;
    await mkdir(dirname(path), { recursive: true });
    // Written under a temporary name, flushed, then renamed: never a half-written picture under its key.
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await stat(this.path(key))).size };
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable | undefined> {
    const path = this.path(key);
    const stream = createReadStream(path, range ? { start: range.start, end: range.end } : {});
    // Resolve once the file is open (or known to be missing), so that a missing key is undefined, not a stream error.
    return new Promise((resolve, reject) => {
      stream.once('open', () => resolve(stream));
      stream.once('error', (err) => (missing(err) ? resolve(undefined) : reject(err)));
    });
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (err) {
      if (!missing(err)) throw err;
    }
  }

  async close(): Promise<void> {}
}
