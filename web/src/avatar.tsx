import { hue, initials } from './format.js';
import type { PresenceInfo } from './presence.js';

/** A round avatar with initials; for people, a presence dot. */
export function Avatar(props: { name: string; group?: boolean; presence?: PresenceInfo | undefined; size?: 'small' }) {
  const { name, presence } = props;
  return (
    <span class={`avatar ${props.group ? 'group' : ''} ${props.size ?? ''}`} style={{ '--h': String(hue(name)) }} aria-hidden="true">
      {props.group ? '#' : initials(name)}
      {presence && <span class={`dot ${presence.online ? 'online' : 'offline'}`} />}
    </span>
  );
}
