import { createHash } from 'node:crypto';
import type { WireAnswer, WireOutcome } from './wire.js';

/**
 * The error codes a client may meet: the OCI distribution spec's list, and the Docker Registry
 * API v2 codes that Distribution answers where the OCI list has none. Written out here rather than
 * taken from src/protocol/errors.ts, so that a code added there by mistake fails the fuzz test.
 */
export const knownErrorCodes: ReadonlySet<string> = new Set([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  // Docker Registry API v2
  'TAG_INVALID',
  'MANIFEST_UNVERIFIED',
  'PAGINATION_NUMBER_INVALID',
  'RANGE_INVALID',
  'UNKNOWN',
  'UNAVAILABLE',
]);

/**
 * Why an error body is not the spec's `{"errors":[{"code","message","detail"?}]}`, or undefined
 * when it is.
 */
export function errorBodyProblem(answer: WireAnswer): string | undefined {
  const type = answer.headers['content-type'] ?? '';
  if (!/^application\/json\b/.test(type)) return `error body with Content-Type ${JSON.stringify(type)}`;
  let body: unknown;
  try {
    body = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return 'error body is not JSON';
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'error body is not an object';
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'errors') return `error body has keys ${JSON.stringify(keys)}`;
  const errors = (body as { errors: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return 'errors is not a non-empty list';
  for (const entry of errors as unknown[]) {
    if (entry === null || typeof entry !== 'object') return 'an error entry is not an object';
    const { code, message } = entry as Record<string, unknown>;
    if (typeof code !== 'string' || !knownErrorCodes.has(code)) return `error code ${JSON.stringify(code)} is not a spec code`;
    if (typeof message !== 'string') return 'error message is not a string';
    const extra = Object.keys(entry).filter((key) => !['code', 'message', 'detail'].includes(key));
    if (extra.length > 0) return `error entry has keys ${JSON.stringify(extra)}`;
  }
  return undefined;
}

/**
 * What is wrong with the outcome of one request: a 5xx, no answer when the framing was sound,
 * an error answer (4xx with a body, HEAD aside) not in the spec's format, or a whole blob or
 * manifest served with content that does not match its digest. Answers the
 * registry wrote carry `Docker-Distribution-API-Version`; the HTTP parser's own refusals (400, 431
 * for malformed requests) come without a body and pass.
 */
export function outcomeProblems(method: string, outcome: WireOutcome, framingBroken: boolean): string[] {
  if (outcome.kind === 'no-answer') return framingBroken ? [] : [`no answer: ${outcome.reason}`];
  const { answer } = outcome;
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`status ${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`);
  const fromRegistry = answer.headers['docker-distribution-api-version'] === 'registry/2.0';
  if (answer.status >= 400 && method !== 'HEAD' && (answer.body.length > 0 || fromRegistry)) {
    const problem = errorBodyProblem(answer);
    if (problem) problems.push(`${answer.status}: ${problem}: ${answer.body.toString('utf8').slice(0, 300)}`);
  }
  const digest = answer.headers['docker-content-digest'];
  if (method === 'GET' && answer.status === 200 && digest !== undefined && !servesDigest(answer.body, digest)) {
    problems.push(`the body served does not have its Docker-Content-Digest ${digest}`);
  }
  return problems;
}

/** True when `bytes` have the digest (sha256 or sha512). */
function servesDigest(bytes: Buffer, digest: string): boolean {
  const [algorithm, hex] = digest.split(':');
  if ((algorithm !== 'sha256' && algorithm !== 'sha512') || hex === undefined) return false;
  return createHash(algorithm).update(bytes).digest('hex') === hex;
}

/**
 * True when the request must have left the content as it was: it was refused, or it only reads.
 * With broken framing (a Content-Length or Transfer-Encoding that does not match the body) an
 * unanswered request may still have been carried out, the answer lost when the parser then
 * failed on the rest of the bytes, so nothing can be said of it.
 */
export function mustNotHaveChanged(method: string, outcome: WireOutcome, framingBroken: boolean): boolean {
  if (method === 'GET' || method === 'HEAD') return true;
  if (outcome.kind === 'no-answer') return !framingBroken;
  return outcome.answer.status >= 400;
}
