/**
 * Turns an error answer of the registry (`{"errors":[{"code","message","detail"}]}`, or whatever a
 * proxy in front of it sent) into one sentence for people.
 */
import { firstError } from '../../client/error-body.js';

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

/** `404` and `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}` → a RequestError. */
export function describeFailure(status: number, statusText: string, body: string): RequestError {
  const first = firstError(body);
  if (first.message !== undefined) {
    const detail = typeof first.detail === 'string' && first.detail !== '' ? ` (${first.detail})` : '';
    return new RequestError(`${first.message}${detail}${first.code ? ` [${first.code}]` : ''}`, status, first.code);
  }
  const snippet = body.trim().replace(/\s+/g, ' ').slice(0, 200);
  return new RequestError(`The registry answered ${status}${statusText ? ` ${statusText}` : ''}${snippet && !snippet.startsWith('<') ? `: ${snippet}` : ''}`, status);
}

/** A failed answer as a RequestError with the registry's own message (reads the body). */
export async function responseFailure(response: Response): Promise<RequestError> {
  return describeFailure(response.status, response.statusText, await response.text());
}
