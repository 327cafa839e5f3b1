/** An inclusive byte range within a resource. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` request header against a resource of `size` bytes (RFC 9110 §14.2).
 * Returns undefined when the header is absent or not a single `bytes=` range (we then serve the
 * whole resource, as the RFC allows), or 'unsatisfiable' for a range that starts past the end.
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first, last] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    // RFC 9110 counts a suffix range of an empty resource as satisfiable, yet no byte range can
    // describe it: serve the whole (empty) resource instead of a range ending at -1.
    if (size === 0) return undefined;
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * Parses an upload chunk's `Content-Range`. The spec's form is `<start>-<end>`; the
 * `bytes <start>-<end>/<total>` form of RFC 9110 is taken too. Returns 'invalid' for anything else.
 */
export function parseContentRange(header: string | undefined): ByteRange | 'invalid' | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) return 'invalid';
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return 'invalid';
  return { start, end };
}
