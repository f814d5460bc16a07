import {
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { MEDIA_KEY, type MediaStore } from '../ports/media.js';

export interface S3MediaOptions {
  bucket: string;
  region: string;
  /** An S3-compatible service; empty for AWS. */
  endpoint: string;
  forcePathStyle: boolean;
  /** Empty: the SDK's standard sources (environment, shared files, instance roles). */
  accessKeyId: string;
  secretAccessKey: string;
}

const notFound = (err: unknown) => err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === 'NoSuchKey' || err.name === 'NotFound');

/** Pictures as objects in one S3 (or S3-compatible) bucket, keyed like the disk store. */
export class S3MediaStore implements MediaStore {
  private readonly s3: S3Client;
  private readonly bucket: string;

  constructor(o: S3MediaOptions) {
    this.bucket = o.bucket;
    this.s3 = new S3Client({
      region: o.region,
      forcePathStyle: o.forcePathStyle,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      ...(o.accessKeyId ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } } : {}),
      // Checksums only where S3 requires them: many S3-compatible servers do not accept the newer trailing checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(key: string): string {
    if (!MEDIA_KEY.test(key)) throw new Error(`invalid media key ${JSON.stringify(key)}`);
    return key;
  }

  async put(key: string, data: Buffer, contentType: string): Promise<void> {
    // Content-addressed: an existing key already holds these bytes.
    if (await this.head(key)) return;
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: data, ContentType: contentType, ContentLength: data.length }));
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      const r = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return { size: r.ContentLength ?? 0 };
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable | undefined> {
    try {
      const r = await this.s3.send(new GetObjectCommand({
        Bucket: this.bucket, Key: this.key(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }));
      const body = r.Body as Readable;
      if (!range) return body;
      // Some S3-compatible servers serve more than the range asked for (s3rver answers bytes=0-0 with everything): cut it to size.
      const served = /^bytes (\d+)-(\d+)\//.exec(r.ContentRange ?? '');
      const from = served ? Number(served[1]) : 0;
      if (served && from === range.start && Number(served[2]) === range.end) return body;
      return Readable.from(slice(body, range.start - from, range.end - range.start + 1));
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
  }

  async close(): Promise<void> {
    this.s3.destroy();
  }
}

/** `length` bytes of `source`, after skipping `skip`. */
async function* slice(source: Readable, skip: number, length: number): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of source) {
      let b = Buffer.from(chunk as Uint8Array);
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      b = b.subarray(skip, skip + length);
      skip = 0;
      length -= b.length;
      if (b.length > 0) yield b;
      if (length <= 0) return;
    }
  } finally {
    source.destroy();
  }
}
