/** A visible state while the connection is lost or recovering, and what waits to be sent. */
import type { ParleyClient } from '../../sdk/src/index.js';
import { plural } from './format.js';

export function ConnectionBanner(props: { client: ParleyClient; everOnline: boolean }) {
  const { client } = props;
  const s = client.state;
  const waiting = client.outboxSize;
  let text = '';
  if (!props.everOnline && s !== 'online') text = s === 'offline' ? 'Cannot reach the server. Trying again…' : 'Connecting…';
  else if (s === 'offline') text = 'Connection lost. Reconnecting…';
  else if (s === 'connecting') text = 'Reconnecting…';
  else if (s === 'syncing') text = 'Catching up…';
  if (text && waiting > 0) text += ` ${plural(waiting, 'message')} will be sent when the connection is back.`;
  return (
    <div class={`banner ${text ? 'visible' : ''} ${s}`} role="status" aria-live="polite" data-testid="connection">
      {text}
    </div>
  );
}
