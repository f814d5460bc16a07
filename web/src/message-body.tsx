import type { Message } from '../../sdk/src/index.js';

/** What a message says. */
export function MessageBody(props: { m: Message }) {
  return <p class="text">{props.m.text}</p>;
}
