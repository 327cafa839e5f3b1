/**
 * Errors of the local image formats (OCI layouts, tarballs, unpacking). Callers tell them apart
 * by class, never by message: the CLI turns each into a one-line explanation.
 */

/** The directory or tarball is not a valid image in the format it claims (or any we read). */
export class InvalidImageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidImageError';
  }
}

/** The source holds no image by the name asked for; `available` lists the names it does hold. */
export class ImageRefNotFoundError extends Error {
  readonly refName: string | undefined;
  readonly available: string[];

  constructor(refName: string | undefined, available: string[], message?: string) {
    super(
      message ??
        (refName === undefined
          ? `several images; name one of: ${available.join(', ')}`
          : `no image named ${JSON.stringify(refName)}; available: ${available.join(', ') || '(none)'}`),
    );
    this.name = 'ImageRefNotFoundError';
    this.refName = refName;
    this.available = available;
  }
}

/** A blob the image refers to is not in the source. */
export class BlobMissingError extends Error {
  readonly digest: string;

  constructor(digest: string, options?: { cause?: unknown }) {
    super(`blob ${digest} is missing`, options);
    this.name = 'BlobMissingError';
    this.digest = digest;
  }
}

/** Bytes whose digest or size is not what their descriptor says. */
export class ContentMismatchError extends Error {
  readonly expected: { digest: string; size: number };
  readonly actual: { digest?: string; size: number };

  constructor(expected: { digest: string; size: number }, actual: { digest?: string; size: number }) {
    super(
      actual.size !== expected.size
        ? `content of ${expected.digest} has ${actual.size} bytes, expected ${expected.size}`
        : `content expected as ${expected.digest} has digest ${actual.digest}`,
    );
    this.name = 'ContentMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** A format or feature we recognise but do not handle (gzip tarballs, zstd layers). */
export class UnsupportedFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedFormatError';
  }
}
