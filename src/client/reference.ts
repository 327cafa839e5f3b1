import { parseDigest } from '../protocol/digest.js';
import { isValidName, isValidTag } from '../protocol/names.js';

/**
 * Image references as the CLI takes them: `host[:port]/repo[/more][:tag|@digest]`. Unlike docker,
 * the first component is always the registry: there is no implicit `docker.io`, so a reference
 * never silently means another registry than the one written.
 */
export interface ImageReference {
  /** `host[:port]` exactly as written (`[::1]:5000` for IPv6). */
  registry: string;
  /** The repository name, validated against the distribution spec's grammar. */
  repository: string;
  /** The tag, when one was written. */
  tag?: string;
  /** `algorithm:hex`, when one was written (with a tag too, the digest is what is fetched). */
  digest?: string;
}

/** A reference that does not follow the grammar; the message says which part is wrong. */
export class InvalidReferenceError extends Error {
  readonly reference: string;

  constructor(reference: string, reason: string) {
    super(`invalid image reference "${reference}": ${reason}`);
    this.name = 'InvalidReferenceError';
    this.reference = reference;
  }
}

const hostPattern = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

/** True for `host`, `host:port`, `1.2.3.4:5000` or `[::1]:5000`. */
export function isValidRegistry(registry: string): boolean {
  return hostPattern.test(registry);
}

export function parseReference(text: string): ImageReference {
  const slash = text.indexOf('/');
  if (slash <= 0) throw new InvalidReferenceError(text, 'expected host[:port]/repository[:tag|@digest]');
  const registry = text.slice(0, slash);
  if (!isValidRegistry(registry)) throw new InvalidReferenceError(text, `"${registry}" is not a host[:port]`);
  let rest = text.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (parseDigest(digest) === undefined) {
      throw new InvalidReferenceError(text, `"${digest}" is not a digest (sha256:<64 hex> or sha512:<128 hex>)`);
    }
  }
  let tag: string | undefined;
  // A colon after the last slash starts the tag (one before it would be a port, but the port
  // belongs to the registry component, already cut off).
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new InvalidReferenceError(text, `"${tag}" is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
  }
  if (!isValidName(rest)) {
    throw new InvalidReferenceError(
      text,
      `"${rest}" is not a valid repository name (lower-case components of [a-z0-9] separated by ".", "_", "__" or "-", joined by "/")`,
    );
  }
  const reference: ImageReference = { registry, repository: rest };
  if (tag !== undefined) reference.tag = tag;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/** The text form `parseReference` reads back (tag and digest both kept when both are set). */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** What to ask the registry's manifest endpoint for: the digest, else the tag, else `latest`. */
export function referenceOf(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}
