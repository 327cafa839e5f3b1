import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blobTargetMediaType } from '../../events/event.js';
import { parseDigest, type Digest } from '../../protocol/digest.js';
import type { LiveBlob } from '../../proxy/pull-through.js';
import type { BlobDescriptor } from '../../registry/blob-store.js';
import { RegistryError } from '../../protocol/errors.js';
import type { RequestContext } from '../context.js';
import { parseRangeHeader } from '../range.js';
import { fileSliceOf } from '../../storage/file-slice.js';
import { sendFileSlice } from '../file-send.js';
import { reply } from '../respond.js';
import { publishEvent } from './publish-event.js';

/**
 * `GET`/`HEAD /v2/<name>/blobs/<digest>`: streamed, with Range support for resumed pulls.
 *
 * A blob that online garbage collection has marked for deletion is 404 to HEAD but still served
 * to GET while its content is there. Pushing clients HEAD a blob to decide whether to upload it,
 * and a manifest naming a marked blob is refused: a 404 makes them upload it, which unmarks it.
 * Pulling clients GET: a blob is marked only when no manifest seemed to reference it, and a
 * manifest pushed meanwhile makes the collector drop the mark, so a pull in that window is served.
 */
export async function getBlob(ctx: RequestContext): Promise<void> {
  const { req, res, registry, params } = ctx;
  const digest = routeDigest(ctx);
  const headers = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest.text,
    ETag: `"${digest.text}"`,
    'Accept-Ranges': 'bytes',
    // Content under a digest never changes.
    'Cache-Control': 'max-age=31536000',
  };
  let blob: BlobDescriptor;
  try {
    blob = await registry.blobs.statInRepository(params.name!, digest, { unmarked: req.method === 'HEAD' });
  } catch (error) {
    if (!ctx.pullThrough?.upstreamOf(params.name!) || !(error instanceof RegistryError && error.code === 'BLOB_UNKNOWN')) throw error;
    if (req.headers['if-none-match'] === headers.ETag) return reply(res, 304, headers);
    if (req.method === 'HEAD') return reply(res, 200, { ...headers, 'Content-Length': await ctx.pullThrough.statBlob(params.name!, digest) });
    // The first client follows the download as it arrives; a Range request waits for it as the others do.
    const live = await ctx.pullThrough.fetchBlob(params.name!, digest, { live: req.headers.range === undefined });
    if (live) return await sendLiveBlob(ctx, digest, headers, live);
    blob = await registry.blobs.statInRepository(params.name!, digest);
  }
  if (req.headers['if-none-match'] === headers.ETag) return reply(res, 304, headers);
  if (req.method === 'HEAD') return reply(res, 200, { ...headers, 'Content-Length': blob.size });
  const redirect = registry.options.redirect ? await registry.blobs.redirectURL(digest) : undefined;
  ctx.pullThrough?.recordPull(params.name!, digest.text, blob.size);
  if (registry.options.events) {
    publishEvent(ctx, 'pull', 'blobs', { mediaType: blobTargetMediaType, digest: digest.text, size: blob.size });
  }
  if (redirect) return reply(res, 307, { Location: redirect, 'Docker-Content-Digest': digest.text });

  const range = parseRangeHeader(req.headers.range, blob.size);
  if (range === 'unsatisfiable') {
    throw new RegistryError('RANGE_INVALID', {
      message: `requested range is outside the blob of ${blob.size} bytes`,
      headers: { 'Content-Range': `bytes */${blob.size}` },
    });
  }
  const stream = await registry.blobs.open(digest, range);
  if (range) {
    res.writeHead(206, {
      ...headers,
      'Content-Length': range.end - range.start + 1,
      'Content-Range': `bytes ${range.start}-${range.end}/${blob.size}`,
    });
  } else {
    res.writeHead(200, { ...headers, 'Content-Length': blob.size });
  }
  await streamOut(ctx, stream);
}

/** A blob a pull-through download brings in, sent as it arrives (see src/proxy/blob-download.ts). */
async function sendLiveBlob(ctx: RequestContext, digest: Digest, headers: Record<string, string>, live: LiveBlob): Promise<void> {
  const { res, params } = ctx;
  res.writeHead(200, { ...headers, ...(live.size === undefined ? {} : { 'Content-Length': live.size }) });
  await streamOut(ctx, live.stream);
  if (!res.writableFinished) return;
  ctx.pullThrough?.recordPull(params.name!, digest.text, live.size ?? 0);
  if (ctx.registry.options.events) {
    publishEvent(ctx, 'pull', 'blobs', { mediaType: blobTargetMediaType, digest: digest.text, size: live.size ?? 0 });
  }
}

/** `DELETE /v2/<name>/blobs/<digest>`: unlinks the blob from the repository. */
export async function deleteBlob(ctx: RequestContext): Promise<void> {
  requireDeletes(ctx);
  const digest = routeDigest(ctx);
  await ctx.registry.blobs.unlink(ctx.params.name!, digest);
  if (ctx.registry.options.events) publishEvent(ctx, 'delete', 'blobs', { digest: digest.text });
  reply(ctx.res, 202);
}

export function requireDeletes(ctx: RequestContext): void {
  if (!ctx.registry.options.deleteEnabled) {
    throw new RegistryError('UNSUPPORTED', {
      message: 'deletes are disabled on this registry (storage.delete.enabled is false)',
    });
  }
}

/** The route's digest param (the router already checked its grammar). */
export function routeDigest(ctx: RequestContext): Digest {
  return parseDigest(ctx.params.digest!)!;
}

/**
 * Pipes a stream to the response (a local file with reused buffers, see file-send.ts); a client
 * that goes away ends it quietly. No abort signal:
 * pipeline already destroys the file stream when the response closes early, and a signal per
 * blob GET was a visible cost in the pull profile.
 */
async function streamOut(ctx: RequestContext, stream: Readable): Promise<void> {
  try {
    const slice = fileSliceOf(stream);
    if (slice) await sendFileSlice(slice, ctx.res);
    else await pipeline(stream, ctx.res);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' && !ctx.res.writableFinished) return;
    throw error;
  }
}
