/**
 * Picture messages: the thumbnail in the timeline (laid out at its final size
 * before it loads, the blurred placeholder behind it), full size on click.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Message } from '../../sdk/src/index.js';
import { CloseIcon } from './icons.js';

/** A picture message's `picture` (signed URLs relative to the server). */
export interface PictureInfo {
  id: string;
  mime: string;
  width: number;
  height: number;
  placeholder: string;
  url: string;
  thumbUrl: string;
  thumbWidth: number;
  thumbHeight: number;
  expiresAt: number;
}

export function pictureOf(m: Message): PictureInfo | undefined {
  return (m as { kind: string; picture?: PictureInfo }).kind === 'picture' ? (m as { picture?: PictureInfo }).picture : undefined;
}

const MAX_SIDE = 280;

/** The box a thumbnail takes: the picture's aspect ratio, at most MAX_SIDE on its longer side. */
export function thumbBox(p: Pick<PictureInfo, 'width' | 'height'>): { width: number; height: number } {
  const w = Math.max(1, p.width);
  const h = Math.max(1, p.height);
  const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
  return { width: Math.max(60, Math.round(w * scale)), height: Math.max(60, Math.round(h * scale)) };
}

export function PictureThumb(props: { picture: PictureInfo; alt: string }) {
  const { picture, alt } = props;
  const [open, setOpen] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const box = thumbBox(picture);
  return (
    <>
      <button
        type="button"
        class={`picture ${loaded ? 'loaded' : ''}`}
        style={{ width: `${box.width}px`, aspectRatio: `${box.width} / ${box.height}`, backgroundImage: `url("${picture.placeholder}")` }}
        onClick={() => setOpen(true)}
        aria-label={`Open picture: ${alt}`}
      >
        <img src={picture.thumbUrl} alt={alt} width={box.width} height={box.height} loading="lazy" decoding="async" onLoad={() => setLoaded(true)} />
      </button>
      {open && <Lightbox picture={picture} alt={alt} onClose={() => setOpen(false)} />}
    </>
  );
}

function Lightbox(props: { picture: PictureInfo; alt: string; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const d = ref.current!;
    d.showModal();
    return () => {
      if (d.open) d.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class="lightbox"
      aria-label="Picture"
      onClose={props.onClose}
      onCancel={props.onClose}
      onClick={(e) => e.target === ref.current && props.onClose()}
    >
      <button type="button" class="icon close" onClick={props.onClose} aria-label="Close picture" title="Close (Escape)">
        <CloseIcon />
      </button>
      <img
        src={props.picture.url}
        alt={props.alt}
        width={props.picture.width}
        height={props.picture.height}
        style={{ backgroundImage: `url("${props.picture.placeholder}")` }}
      />
    </dialog>
  );
}
