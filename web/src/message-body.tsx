import type { Message, ParleyClient } from '../../sdk/src/index.js';
import { PictureThumb, pictureOf } from './picture.js';

/** What a message says: its text, or a picture with its caption. */
export function MessageBody(props: { m: Message; client: ParleyClient }) {
  const { m, client } = props;
  const picture = pictureOf(m);
  if (!picture) return <p class="text">{m.text}</p>;
  return (
    <>
      <PictureThumb
        picture={picture}
        alt={m.text || `Picture from ${m.sender}`}
        refresh={() => client.history(m.conversationId, { before: m.seq + 1, limit: 1 }).then((r) => r.messages.find((x) => x.seq === m.seq)?.picture)}
      />
      {m.text && <p class="text caption">{m.text}</p>}
    </>
  );
}
