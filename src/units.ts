/**
 * The units command-line flags are written in (`berth bench`, `--chunk-size`): durations (`10s`,
 * `2m`, `1500ms`) and sizes (`256KiB`, `8MiB`, `1MB`), and the same quantities written for people.
 * Sizes follow regbench's reading so the same flags mean the same bytes in both tools: `K`/`KiB`
 * are binary, `KB` is decimal.
 */

/** A flag value that is not a duration or a size. The message names the value. */
export class UnitParseError extends Error {
  override readonly name = 'UnitParseError';
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `10s` → 10000 (milliseconds). A bare number is seconds. Throws UnitParseError otherwise. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) throw new UnitParseError(`not a duration: ${JSON.stringify(text)} (examples: 500ms, 10s, 2m, 1h)`);
  return Math.round(Number(match[1]) * durationUnits[match[2] ?? 's']!);
}

const sizeUnits: Record<string, number> = {
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
};

/** `256KiB` → 262144 (bytes). A bare number is bytes. Throws UnitParseError otherwise. */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const factor = match ? sizeUnits[(match[2] || 'b').toLowerCase()] : undefined;
  if (!match || factor === undefined) throw new UnitParseError(`not a size: ${JSON.stringify(text)} (examples: 512B, 256KiB, 8MiB, 1GiB, 10MB)`);
  const bytes = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes)) throw new UnitParseError(`size too large: ${JSON.stringify(text)}`);
  return bytes;
}

/** 262144 → `256KiB`; exact multiples only, so the text parses back to the same bytes. */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}B`;
}

/** 1536 → `1.5 KiB`, for people (not parsed back). */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Milliseconds for people: `850 ms`, `12.3 s`, `2m05s`. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
