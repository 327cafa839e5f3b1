import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ContentPool } from './content.js';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('ContentPool', () => {
  it('streams content whose digest and size are the announced ones, any number of times', async () => {
    const pool = new ContentPool();
    for (const size of [0, 10, 32, 33, 5000, 3 * 1024 * 1024 + 7]) {
      const blob = pool.blob(`blob-${size}`, size);
      for (let i = 0; i < 2; i++) {
        const bytes = await bytesOf(blob.open());
        assert.equal(bytes.length, size);
        assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, blob.digest);
      }
    }
  });

  it('gives ranges that put together make the whole (chunked uploads)', async () => {
    const blob = new ContentPool().blob('ranges', 2 * 1024 * 1024 + 100);
    const whole = await bytesOf(blob.open());
    const parts: Buffer[] = [];
    for (let offset = 0; offset < blob.size; offset += 700_000) parts.push(await bytesOf(blob.open(offset, Math.min(700_000, blob.size - offset))));
    assert.deepEqual(Buffer.concat(parts), whole);
    assert.throws(() => blob.open(blob.size - 1, 2), RangeError);
  });

  it('makes different content for different labels, the same for the same label', () => {
    const pool = new ContentPool();
    assert.notEqual(pool.blob('a', 1000).digest, pool.blob('b', 1000).digest);
    assert.equal(pool.blob('a', 1000).digest, pool.blob('a', 1000).digest);
  });
});
