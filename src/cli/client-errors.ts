import { DockerConfigError } from '../client/docker-config.js';
import { InvalidReferenceError } from '../client/reference.js';
import { ConnectionFailedError, DigestMismatchError, RegistryError, ResponseTooLargeError, SourceSizeError, TagDeleteUnsupportedError } from '../client/registry-error.js';
import { BlobMissingError, ContentMismatchError, ImageRefNotFoundError, InvalidImageError, UnsupportedFormatError } from '../image/image-errors.js';
import { TransferError } from '../image/transfer.js';
import { UnitParseError } from '../units.js';

/**
 * The text the CLI prints for an error of the client side (registry answers, unreachable
 * registries, bad references, unreadable images): the message and, when there is one, what to
 * do next. Undefined for anything else (a bug: printed with its stack by main).
 */
export function clientErrorText(error: unknown): string | undefined {
  if (error instanceof RegistryError || error instanceof ConnectionFailedError || error instanceof TagDeleteUnsupportedError) {
    return error.hint ? `${error.message}\n  hint: ${error.hint}` : error.message;
  }
  const known = [UnitParseError, InvalidReferenceError, DockerConfigError, DigestMismatchError, SourceSizeError, ResponseTooLargeError, TransferError, InvalidImageError, ImageRefNotFoundError, BlobMissingError, ContentMismatchError, UnsupportedFormatError];
  if (known.some((type) => error instanceof type)) return (error as Error).message;
  return undefined;
}
