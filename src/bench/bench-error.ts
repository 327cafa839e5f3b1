/**
 * The one error type of a bench run: an answer the protocol does not allow (wrong status, a
 * missing header, a digest that does not match the bytes), or a request that got no answer.
 * Every one is counted; the run then exits non-zero.
 */
export class BenchRequestError extends Error {
  override readonly name = 'BenchRequestError';
  constructor(
    /** The request type it is counted under, e.g. `blob-put`. */
    readonly type: string,
    readonly method: string,
    /** Path and query of the request. */
    readonly path: string,
    /** What was wrong, for people. */
    readonly reason: string,
    /** The HTTP status, or undefined when no answer came (connection refused, reset, timeout). */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`${method} ${path}: ${status === undefined ? '' : `${status} `}${reason}`, options);
  }
}

/** A setup phase failed: the scenario cannot be measured. The first error is the cause. */
export class BenchSetupError extends Error {
  override readonly name = 'BenchSetupError';
}
