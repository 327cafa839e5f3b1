import type { ServerResponse } from 'node:http';
import type { FileSlice } from '../storage/file-slice.js';
import { read } from '../storage/fs-calls.js';

/** Size of each send buffer: one read and one socket write per MiB. */
const bufferSize = 1024 * 1024;
/** Free buffers kept between requests (16 MiB); more in flight at once are allocated and dropped. */
const buffersKept = 16;

/**
 * Send buffers reused across requests. Why: a fresh 1 MiB buffer per read (what a file
 * ReadStream does) is mapped anew by the allocator and page-faulted in 4 KiB at a time; on this
 * machine that held a blob GET to ~1.1 GB/s, and reusing two buffers took it to ~1.6 GB/s.
 */
const freeBuffers: Buffer[] = [];

function takeBuffer(): Buffer {
  return freeBuffers.pop() ?? Buffer.allocUnsafeSlow(bufferSize);
}

function giveBack(buffer: Buffer): void {
  if (freeBuffers.length < buffersKept) freeBuffers.push(buffer);
}

/**
 * Copies a file range to the response with two reused buffers: the next read overlaps the
 * socket write of the previous buffer, and a buffer is read into again only after its write has
 * completed. Resolves when the response has finished; a client that goes away rejects with
 * ERR_STREAM_PREMATURE_CLOSE, as pipeline does. The stream (which owns the descriptor) is
 * destroyed at the end either way, which closes the file.
 */
export async function sendFileSlice(slice: FileSlice, res: ServerResponse): Promise<void> {
  const gone = clientGone(res);
  const buffers: Buffer[] = [];
  let clean = false;
  try {
    let position = slice.start;
    let previousWrite: Promise<void> = Promise.resolve();
    for (let turn = 0; position <= slice.end; turn++) {
      // Buffer turn % 2 was last written two turns ago; that write completed before the last turn's began.
      const buffer = (buffers[turn % 2] ??= takeBuffer());
      const wanted = Math.min(buffer.length, slice.end - position + 1);
      const { bytesRead } = await Promise.race([handled(read(slice.fd, buffer, 0, wanted, position)), gone.promise]);
      if (bytesRead === 0) throw new Error(`file ended at ${position}, before the range's end ${slice.end}`);
      position += bytesRead;
      await Promise.race([previousWrite, gone.promise]);
      previousWrite = handled(
        new Promise<void>((resolve, reject) => {
          res.write(buffer.subarray(0, bytesRead), (error) => (error ? reject(error) : resolve()));
        }),
      );
    }
    await Promise.race([previousWrite, gone.promise]);
    await Promise.race([new Promise<void>((resolve) => res.end(resolve)), gone.promise]);
    clean = true;
  } catch (error) {
    if (!res.destroyed) res.destroy(error as Error);
    throw error;
  } finally {
    gone.stop();
    slice.stream.destroy();
    // After a failure a buffer may still be in a socket write: it is dropped, not reused.
    if (clean) buffers.forEach(giveBack);
  }
}

/** A promise that rejects when the response closes before it has finished. */
function clientGone(res: ServerResponse): { promise: Promise<never>; stop: () => void } {
  let onClose = () => {};
  const promise = handled(new Promise<never>((_resolve, reject) => {
    onClose = () => {
      if (res.writableFinished) return;
      reject(Object.assign(new Error('the client closed the connection'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
  }));
  if (res.destroyed) onClose();
  else res.once('close', onClose);
  return { promise, stop: () => res.off('close', onClose) };
}

/**
 * Marks a promise that is raced against another as handled: when the other wins, this one's
 * later rejection (a write to a socket already gone) must not count as unhandled. Awaiting the
 * returned promise still throws.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
