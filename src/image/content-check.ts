import { Transform, type TransformCallback } from 'node:stream';
import { digestBytes, digestOf, newHash, parseDigest, type Digest } from '../protocol/digest.js';
import type { Descriptor } from './descriptor.js';
import { ContentMismatchError, InvalidImageError } from './image-errors.js';

/**
 * Checking content against its descriptor, the one rule every end of a transfer applies before
 * it trusts bytes: their digest and size are what the manifest says. Sources leave this to the
 * caller, so that a stream is hashed once, where it is consumed.
 */

/** The descriptor's digest, parsed; InvalidImageError when it is not one. */
export function descriptorDigest(descriptor: Descriptor): Digest {
  const digest = parseDigest(descriptor.digest);
  if (!digest) throw new InvalidImageError(`invalid digest ${JSON.stringify(descriptor.digest)}`);
  return digest;
}

/** Checks small content held in memory against its descriptor. */
export function verifyBytes(descriptor: Descriptor, bytes: Buffer): void {
  const digest = descriptorDigest(descriptor);
  const actual = digestBytes(bytes, digest.algorithm).text;
  if (bytes.length !== descriptor.size || actual !== digest.text) {
    throw new ContentMismatchError({ digest: digest.text, size: descriptor.size }, { digest: actual, size: bytes.length });
  }
}

/**
 * A pass-through stream that hashes and counts what goes through it and fails at the end
 * (ContentMismatchError) when the content is not the descriptor's: a pipeline through it
 * rejects instead of completing, so its output is never taken as good.
 */
export class ContentCheck extends Transform {
  private readonly digest: Digest;
  private readonly hash;
  private size = 0;

  constructor(
    private readonly descriptor: Descriptor,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    super();
    this.digest = descriptorDigest(descriptor);
    this.hash = newHash(this.digest.algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.onProgress?.(this.size);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = digestOf(this.hash, this.digest.algorithm).text;
    if (actual !== this.digest.text || this.size !== this.descriptor.size) {
      callback(new ContentMismatchError({ digest: this.digest.text, size: this.descriptor.size }, { digest: actual, size: this.size }));
      return;
    }
    callback();
  }
}
