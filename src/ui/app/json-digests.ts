/**
 * Splits pretty-printed JSON into plain text and the digests in it, so the manifest view can
 * make each digest a link without ever building HTML from the data.
 */

export type JsonPiece = { text: string } | { digest: string };

/** A whole JSON string value that is a digest (`"sha256:<64 hex>"`, `"sha512:<128 hex>"`). */
const digestValue = /"((?:sha256:[a-f0-9]{64})|(?:sha512:[a-f0-9]{128}))"/g;

export function splitDigests(json: string): JsonPiece[] {
  const pieces: JsonPiece[] = [];
  let at = 0;
  for (const match of json.matchAll(digestValue)) {
    const start = match.index + 1;
    pieces.push({ text: json.slice(at, start) });
    pieces.push({ digest: match[1]! });
    at = start + match[1]!.length;
  }
  pieces.push({ text: json.slice(at) });
  return pieces.filter((piece) => !('text' in piece) || piece.text !== '');
}

/** The stored manifest bytes, indented; text that is not JSON is shown as it is. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
