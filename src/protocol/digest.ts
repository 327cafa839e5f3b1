import { createHash, type Hash } from 'node:crypto';

/**
 * Content digests as the OCI image spec defines them: `algorithm:encoded`.
 * Only algorithms we can verify are accepted; an unknown algorithm is as invalid
 * as a malformed string, because we could never check content against it.
 */
export type DigestAlgorithm = 'sha256' | 'sha512';

const encodedPattern: Record<DigestAlgorithm, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

export const defaultAlgorithm: DigestAlgorithm = 'sha256';

export interface Digest {
  readonly algorithm: DigestAlgorithm;
  /** Lower-case hex; safe to use as a path component (checked by the pattern above). */
  readonly hex: string;
  /** The canonical `algorithm:hex` form. */
  readonly text: string;
}

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return Object.hasOwn(encodedPattern, value);
}

/** Parses `sha256:<64 hex>` or `sha512:<128 hex>`; returns undefined for anything else. */
export function parseDigest(text: string): Digest | undefined {
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (!isDigestAlgorithm(algorithm) || !encodedPattern[algorithm].test(hex)) return undefined;
  return { algorithm, hex, text };
}

/** True when the string looks like a digest (has the `alg:enc` grammar), valid or not. */
export function looksLikeDigest(text: string): boolean {
  return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(text);
}

export function digestOf(hash: Hash, algorithm: DigestAlgorithm): Digest {
  const hex = hash.digest('hex');
  return { algorithm, hex, text: `${algorithm}:${hex}` };
}

export function newHash(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

/** Digest of bytes held in memory (manifests; never blobs, which are hashed as they stream). */
export function digestBytes(bytes: Uint8Array, algorithm: DigestAlgorithm = defaultAlgorithm): Digest {
  return digestOf(createHash(algorithm).update(bytes), algorithm);
}
