import {
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
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
      return r.Body as Readable;
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
