import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * Test content that costs almost nothing per request: one random pool (1 MiB) is made once,
 * and every blob is a 32-byte header unique to it followed by the pool repeated from an offset.
 * Bytes are incompressible, blobs never collide, and a blob of any size streams as slices of
 * the same pool (no allocation per request). Each blob's digest is computed once, when it is
 * made (outside the clock).
 */

const poolSize = 1 << 20;
const headerSize = 32;

/** Content the bench uploads: known digest and size, readable any number of times. */
export interface BlobContent {
  /** `sha256:<hex>` of the whole content. */
  readonly digest: string;
  readonly size: number;
  /**
   * A fresh stream of bytes [offset, offset + length) of the content (default: all of it).
   * Throws RangeError when the range is outside the content.
   */
  open(offset?: number, length?: number): Readable;
}

export class ContentPool {
  private readonly pool = randomBytes(poolSize);

  /**
   * A blob of `size` bytes unique to `label` in this pool: two labels give different bytes, the
   * same label the same bytes. Hashes the content once (about 1 ms per MiB).
   */
  blob(label: string, size: number): BlobContent {
    const head = createHash('sha256').update(label).digest();
    const start = head.readUInt32BE(0) % poolSize;
    const pieces = (offset: number, length: number) => slices(head, this.pool, start, offset, length);
    const hash = createHash('sha256');
    for (const piece of pieces(0, size)) hash.update(piece);
    const digest = `sha256:${hash.digest('hex')}`;
    return {
      digest,
      size,
      open: (offset = 0, length = size - offset) => {
        if (offset < 0 || length < 0 || offset + length > size) throw new RangeError(`bytes ${offset}+${length} outside a blob of ${size}`);
        return Readable.from(pieces(offset, length), { objectMode: false });
      },
    };
  }
}

/** Small content held whole (configs, manifests): hashed once. */
export function bufferContent(bytes: Buffer): BlobContent & { bytes: Buffer } {
  return {
    bytes,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    size: bytes.length,
    open: (offset = 0, length = bytes.length - offset) => {
      if (offset < 0 || length < 0 || offset + length > bytes.length) throw new RangeError(`bytes ${offset}+${length} outside ${bytes.length}`);
      return Readable.from([bytes.subarray(offset, offset + length)], { objectMode: false });
    },
  };
}

/**
 * The pieces of the content header + pool (from `start`, wrapping) between offset and
 * offset + length, as views of the existing buffers.
 */
function* slices(head: Buffer, pool: Buffer, start: number, offset: number, length: number): Generator<Buffer> {
  let position = offset;
  const end = offset + length;
  if (position < headerSize && position < end) {
    const piece = head.subarray(position, Math.min(headerSize, end));
    yield piece;
    position += piece.length;
  }
  while (position < end) {
    const at = (start + position - headerSize) % pool.length;
    const take = Math.min(end - position, pool.length - at);
    yield pool.subarray(at, at + take);
    position += take;
  }
}
