import type { Readable } from 'node:stream';
import { SourceSizeError } from './registry-error.js';

/**
 * Hands out a blob source's bytes as consecutive request bodies of exact lengths (the chunks of
 * a chunked upload), and checks the source holds exactly the blob's size: a source that ends
 * early or goes on past the size fails the body, so the registry never completes a wrong blob.
 */
export class ChunkReader {
  private leftover: Buffer | undefined;
  private readonly iterator: AsyncIterator<unknown>;
  /** Blob offset of the next byte handed out. */
  private position: number;

  /** `source` yields the blob's bytes from `offset` on. */
  constructor(
    private readonly source: Readable,
    offset: number,
    private readonly digest: string,
    private readonly size: number,
  ) {
    this.position = offset;
    this.iterator = source[Symbol.asyncIterator]();
  }

  /**
   * The next `length` bytes, as an async iterable for a request body. `onBytes` sees each piece
   * as it is handed on. When the piece reaches the blob's end, the source must be exhausted too.
   */
  async *take(length: number, onBytes?: (bytes: number) => void): AsyncGenerator<Buffer> {
    let remaining = length;
    while (remaining > 0) {
      let piece = this.leftover ?? (await this.next());
      this.leftover = undefined;
      if (piece === undefined) throw new SourceSizeError(this.digest, this.size, this.position);
      if (piece.length > remaining) {
        this.leftover = piece.subarray(remaining);
        piece = piece.subarray(0, remaining);
      }
      remaining -= piece.length;
      this.position += piece.length;
      onBytes?.(piece.length);
      yield piece;
    }
    if (this.position === this.size) await this.checkEnd();
  }

  /** Stops reading and releases the source (after a failure, or when done). */
  destroy(): void {
    this.source.destroy();
  }

  private async next(): Promise<Buffer | undefined> {
    for (;;) {
      const result = await this.iterator.next();
      if (result.done) return undefined;
      const value = result.value as Buffer | string;
      const piece = typeof value === 'string' ? Buffer.from(value) : value;
      if (piece.length > 0) return piece;
    }
  }

  private async checkEnd(): Promise<void> {
    const extra = this.leftover ?? (await this.next());
    if (extra !== undefined) throw new SourceSizeError(this.digest, this.size, this.position + extra.length);
  }
}
