/**
 * How numbers, times and digests are written for people. Pure functions (no DOM), so they are
 * unit-tested under Node.
 */

const sizeUnits = ['kB', 'MB', 'GB', 'TB', 'PB'];

/**
 * 1234567 → `1.2 MB`. Decimal units, as `docker images` writes them, so the numbers people
 * compare between the two tools agree. Three significant digits at most.
 */
export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1000) return `${Math.max(0, Math.round(bytes || 0))} B`;
  let value = bytes;
  let unit = -1;
  // 999.5 and above would print as "1000" (toFixed(0) rounds up): that is the next unit's 1.
  while (value >= 999.5 && unit < sizeUnits.length - 1) {
    value /= 1000;
    unit++;
  }
  const text = value >= 100 ? value.toFixed(0) : value.toFixed(1).replace(/\.0$/, '');
  return `${text} ${sizeUnits[unit]}`;
}

const steps: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY],
];

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** `2024-05-01T10:00:00Z` → `3 days ago` (relative to `now`); `never` for null; the text as is when unparsable. */
export function relativeTime(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  let amount = (then - now) / 1000;
  if (Math.abs(amount) < 10) return 'just now';
  for (const [unit, size] of steps) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return relative.format(Math.round(amount), 'year');
}

/** The exact time, for a `title`: local date and time with its zone, and the ISO text. */
export function exactTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'long' })} (${date.toISOString()})`;
}

/** `sha256:0123456789abcdef…` → `sha256:0123456789ab` (12 hex digits, as docker shows image ids). */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  if (colon < 0) return digest.slice(0, 12);
  return `${digest.slice(0, colon)}:${digest.slice(colon + 1, colon + 13)}`;
}

/** `4 tags`, `1 tag`. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}
