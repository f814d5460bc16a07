/** Small display helpers: times, initials and a stable colour per name. */

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function clock(ms: number): string {
  return time.format(ms);
}

/** Time for today, else the date: as a conversation list shows it. */
export function when(ms: number, now = Date.now()): string {
  if (!ms) return '';
  const d = new Date(ms);
  const n = new Date(now);
  return d.toDateString() === n.toDateString() ? time.format(d) : day.format(d);
}

export function fullDate(ms: number): string {
  return full.format(ms);
}

export function lastSeen(ms: number | undefined, now = Date.now()): string {
  if (!ms) return 'offline';
  const min = Math.round((now - ms) / 60000);
  if (min < 1) return 'last seen just now';
  if (min < 60) return `last seen ${min} min ago`;
  if (min < 24 * 60) return `last seen ${Math.round(min / 60)} h ago`;
  return `last seen ${day.format(ms)}`;
}

export function initials(name: string): string {
  const parts = name.split(/[\s._-]+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0]![0]! + parts[1]![0]! : name.slice(0, 2);
  return s.toUpperCase();
}

export function hue(name: string): number {
  let h = 0;
  for (const ch of name.toLowerCase()) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
