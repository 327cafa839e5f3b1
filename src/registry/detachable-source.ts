import { finished, PassThrough, type Readable } from 'node:stream';

export interface DetachableSource {
  /** The source's bytes; a pipeline may destroy this stream without touching the source. */
  readonly stream: Readable;
  /**
   * Lets go of the source: stops copying into `stream` and reads and drops whatever the source
   * still brings. Safe to call more than once, and after the source has ended or failed.
   */
  release(): void;
}

/**
 * Wraps a request body for a pipeline that may fail part way (storage full, an I/O error).
 *
 * Why: on any failure `pipeline` destroys every stream, and destroying an HTTP request that is
 * still being sent leaves its keep-alive connection wedged (Node 20: the error answer goes out,
 * but the next request on that connection never gets one). Behind this wrapper the request is
 * only unpiped; `release()` then drains the rest of the body so the connection stays usable and
 * the client, once it has sent everything, reads the error answer. A failure of the source
 * itself (the client went away) still fails `stream`, so the pipeline ends.
 */
export function detachable(source: Readable): DetachableSource {
  const stream = new PassThrough();
  source.pipe(stream);
  const stopWatching = finished(source, { writable: false }, (error) => {
    if (error) stream.destroy(error);
  });
  let released = false;
  return {
    stream,
    release() {
      if (released) return;
      released = true;
      stopWatching();
      source.unpipe(stream);
      source.resume();
    },
  };
}
