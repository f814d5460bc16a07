import type { Message } from '../../sdk/src/index.js';
import { PictureThumb, pictureOf } from './picture.js';

/** What a message says: its text, or a picture with its caption. */
export function MessageBody(props: { m: Message }) {
  const { m } = props;
  const picture = pictureOf(m);
  if (!picture) return <p class="text">{m.text}</p>;
  return (
    <>
      <PictureThumb picture={picture} alt={m.text || `Picture from ${m.sender}`} />
      {m.text && <p class="text caption">{m.text}</p>}
    </>
  );
}
