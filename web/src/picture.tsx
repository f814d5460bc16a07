/**
 * Picture messages: the thumbnail in the timeline (laid out at its final size
 * before it loads, the blurred placeholder behind it), full size on click.
 */
import { useRef, useState } from 'preact/hooks';
import type { Message, Picture } from '../../sdk/src/index.js';
import { CloseIcon } from './icons.js';
import { useModal } from './modal.js';

export type PictureInfo = Picture;

export function pictureOf(m: Message): Picture | undefined {
  return m.kind === 'picture' ? m.picture : undefined;
}

const MAX_SIDE = 280;

/** The box a thumbnail takes: the picture's aspect ratio, at most MAX_SIDE on its longer side. */
export function thumbBox(p: Pick<PictureInfo, 'width' | 'height'>): { width: number; height: number } {
  const w = Math.max(1, p.width);
  const h = Math.max(1, p.height);
  const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
  return { width: Math.max(60, Math.round(w * scale)), height: Math.max(60, Math.round(h * scale)) };
}

/**
 * `refresh` fetches the message again when its signed URLs have expired (a
 * long-open tab): the thumbnail then shows with fresh ones.
 */
export function PictureThumb(props: { picture: PictureInfo; alt: string; refresh?: () => Promise<Picture | undefined> }) {
  const [fresh, setFresh] = useState<Picture | undefined>();
  const picture = fresh ?? props.picture;
  const { alt } = props;
  const [open, setOpen] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const retried = useRef(false);
  const box = thumbBox(picture);
  const onError = () => {
    if (retried.current || !props.refresh || Date.now() < picture.expiresAt - 60_000) return;
    retried.current = true;
    props.refresh().then((p) => p && setFresh(p), () => { /* the placeholder stays */ });
  };
  return (
    <>
      <button
        type="button"
        class={`picture ${loaded ? 'loaded' : ''}`}
        style={{ width: `${box.width}px`, aspectRatio: `${box.width} / ${box.height}`, backgroundImage: `url("${picture.placeholder}")` }}
        onClick={() => setOpen(true)}
        aria-label={`Open picture: ${alt}`}
      >
        <img src={picture.thumbUrl} alt={alt} width={box.width} height={box.height} loading="lazy" decoding="async" onLoad={() => setLoaded(true)} onError={onError} />
      </button>
      {open && <Lightbox picture={picture} alt={alt} onClose={() => setOpen(false)} />}
    </>
  );
}

function Lightbox(props: { picture: PictureInfo; alt: string; onClose(): void }) {
  const { ref, close } = useModal(props.onClose);
  return (
    <dialog
      ref={ref}
      class="lightbox"
      aria-label="Picture"
      onClose={close}
      onCancel={close}
      onClick={(e) => e.target === ref.current && close()}
    >
      <button type="button" class="icon close" onClick={close} aria-label="Close picture" title="Close (Escape)">
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
