/**
 * The nesting depth of JSON text (arrays and objects), counted in one pass over the bytes
 * without parsing, and stopped as soon as it passes `limit`. A manifest is checked before it
 * is parsed: V8's JSON.parse copes with deep input, but whatever walks the parsed value later
 * (JSON.stringify in a log line, a client written in another language, Go's 10,000-level cap
 * in Distribution reading the same storage) may not. Brackets inside strings do not count;
 * malformed text is left for JSON.parse to refuse.
 */
export function exceedsJsonDepth(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === backslash) i++; // the escaped byte cannot end the string
      else if (byte === quote) inString = false;
    } else if (byte === quote) {
      inString = true;
    } else if (byte === openBracket || byte === openBrace) {
      if (++depth > limit) return true;
    } else if (byte === closeBracket || byte === closeBrace) {
      depth--;
    }
  }
  return false;
}

const quote = 0x22;
const backslash = 0x5c;
const openBracket = 0x5b;
const closeBracket = 0x5d;
const openBrace = 0x7b;
const closeBrace = 0x7d;
