/**
 * Turns an error answer of the registry (`{"errors":[{"code","message","detail"}]}`, or whatever a
 * proxy in front of it sent) into one sentence for people.
 */

/** A request that did not succeed; `message` is readable, `status` is the HTTP status (0: no answer). */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface ErrorBody {
  errors?: Array<{ code?: unknown; message?: unknown; detail?: unknown }>;
}

/** `404` and `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}` → a RequestError. */
export function describeFailure(status: number, statusText: string, body: string): RequestError {
  let parsed: ErrorBody | undefined;
  try {
    parsed = JSON.parse(body) as ErrorBody;
  } catch {
    parsed = undefined;
  }
  const first = Array.isArray(parsed?.errors) ? parsed.errors[0] : undefined;
  if (first && typeof first.message === 'string') {
    const code = typeof first.code === 'string' ? first.code : undefined;
    const detail = typeof first.detail === 'string' && first.detail !== '' ? ` (${first.detail})` : '';
    return new RequestError(`${first.message}${detail}${code ? ` [${code}]` : ''}`, status, code);
  }
  const snippet = body.trim().replace(/\s+/g, ' ').slice(0, 200);
  return new RequestError(`The registry answered ${status}${statusText ? ` ${statusText}` : ''}${snippet && !snippet.startsWith('<') ? `: ${snippet}` : ''}`, status);
}
