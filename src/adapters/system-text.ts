import type { SystemEvent } from '../ports/store.js';

/** The readable summary stored as the text of a system message. */
export function systemText(e: SystemEvent): string {
  const who = (e.users ?? []).join(', ');
  switch (e.event) {
    case 'created': return `${e.actor} created the group "${e.title}"${who ? ` with ${who}` : ''}`;
    case 'added': return `${e.actor} added ${who}`;
    case 'removed': return `${e.actor} removed ${who}`;
    case 'left': return `${e.actor} left`;
    case 'renamed': return `${e.actor} renamed the group to "${e.title}"`;
  }
}
