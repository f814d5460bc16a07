/**
 * Sending pictures through the SDK: upload (with progress), then a picture
 * message that refers to the upload. Feature-detected, so the app still runs
 * on an SDK without picture support (the attach button is then not shown).
 */
import type { Message, ParleyClient, SendTarget } from '../../sdk/src/index.js';

export interface UploadedPicture {
  id: string;
  mime: string;
  width: number;
  height: number;
  size: number;
  placeholder: string;
}

interface PictureApi {
  uploadPicture(blob: Blob, opts?: { onProgress?(sent: number, total: number): void }): Promise<UploadedPicture>;
  sendPicture(target: SendTarget, mediaId: string, caption?: string, clientId?: string): Promise<Message>;
}

export function pictureApi(client: ParleyClient): PictureApi | undefined {
  const c = client as unknown as Partial<PictureApi>;
  return typeof c.uploadPicture === 'function' && typeof c.sendPicture === 'function' ? (c as PictureApi) : undefined;
}

export function isImage(f: Blob): boolean {
  return /^image\//.test(f.type);
}
