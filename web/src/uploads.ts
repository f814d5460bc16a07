/** Which pasted or picked files are pictures. */
export function isImage(f: Blob): boolean {
  return /^image\//.test(f.type);
}
