import type { Message } from '../../sdk/src/index.js';

/** One line about a message, as the conversation list shows it. */
export function preview(m: Message, me: string, group: boolean): string {
  const body = describe(m);
  if (m.kind === 'system') return body;
  if (m.sender.toLowerCase() === me.toLowerCase()) return `You: ${body}`;
  return group ? `${m.sender}: ${body}` : body;
}

export function describe(m: Message): string {
  if (m.kind === 'picture') return m.text ? `Photo: ${m.text}` : 'Photo';
  return m.text.replace(/\s+/g, ' ');
}
