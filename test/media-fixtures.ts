/** Pictures made for the media tests (with sharp), and HTTP helpers for uploads. */
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

/**
 * A 600x400 JPEG, left half red and right half blue, whose EXIF says "rotate
 * 90 degrees clockwise to display" (orientation 6), with an artist, a GPS
 * position and marker strings that must never reach a viewer.
 */
export async function cameraJpeg(): Promise<Buffer> {
  const left = await sharp({ create: { width: 300, height: 400, channels: 3, background: '#ff0000' } }).png().toBuffer();
  return sharp({ create: { width: 600, height: 400, channels: 3, background: '#0000ff' } })
    .composite([{ input: left, left: 0, top: 0 }])
    .jpeg({ quality: 90 })
    .withExif({
      IFD0: { Artist: 'EXIF-ARTIST-MARKER', Make: 'ParleyCam' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1', GPSMapDatum: 'GPS-POSITION-MARKER' },
    })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

/** A photo-like JPEG (noise, so that it compresses like a photo) of the given size; `seed` makes each one different. */
export async function noiseJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < raw.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    raw[i] = x & 0xff;
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).blur(2).jpeg({ quality: 85 }).toBuffer();
}

export const solidPng = (width: number, height: number, colour = '#22aa44') =>
  sharp({ create: { width, height, channels: 4, background: colour } }).png().toBuffer();

/** A small, valid PNG whose header claims width x height pixels (a decompression bomb's header). */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await solidPng(8, 8));
  // Signature (8), then the IHDR chunk: length (4), "IHDR" (4), width (4), height (4), 5 more bytes, CRC (4).
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

export const SVG = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><script>alert(document.cookie)</script><rect width="40" height="40" fill="red"/></svg>\n');
export const TEXT = Buffer.from('These are meeting notes, not a picture.\n'.repeat(20));

export interface HttpReply { status: number; headers: Headers; json: any; bytes: Buffer }

export async function http(base: string, path: string, init: RequestInit = {}): Promise<HttpReply> {
  const res = await fetch(base + path, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  if ((res.headers.get('content-type') ?? '').includes('json')) json = JSON.parse(bytes.toString());
  return { status: res.status, headers: res.headers, json, bytes };
}

export const upload = (base: string, token: string, body: Buffer, contentType?: string) =>
  http(base, '/v1/media', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': contentType } : {}) },
    body,
  });

export async function loginHttp(base: string, username: string): Promise<string> {
  const r = await http(base, '/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username }) });
  if (r.status !== 200) throw new Error(`login failed: ${r.status}`);
  return r.json.token as string;
}
