import { repositoryScope } from '../../auth/scope.js';
import { blobTargetMediaType } from '../../events/event.js';
import { isDigestAlgorithm, parseDigest, type Digest, type DigestAlgorithm } from '../../protocol/digest.js';
import { RegistryError } from '../../protocol/errors.js';
import { isValidName } from '../../protocol/names.js';
import { forNewReference, type BlobDescriptor } from '../../registry/blob-store.js';
import { isValidUploadId, type ChunkOptions } from '../../registry/uploads.js';
import type { RequestContext } from '../context.js';
import { parseContentRange } from '../range.js';
import { hasBody } from '../request-body.js';
import { reply } from '../respond.js';
import { publishEvent } from './publish-event.js';

/**
 * `POST /v2/<name>/blobs/uploads/`: a cross-repository mount (`?mount=&from=`), a whole blob in
 * one request (`?digest=`), or a new upload session.
 */
export async function startUpload(ctx: RequestContext): Promise<void> {
  const { url, registry } = ctx;
  const name = ctx.params.name!;
  const mount = url.searchParams.get('mount');
  const from = url.searchParams.get('from');
  if (mount !== null && from !== null && (await tryMount(ctx, name, mount, from))) return;

  const digestParam = url.searchParams.get('digest');
  const algorithm = digestAlgorithm(url, digestParam);
  const id = await registry.uploads.start(name, algorithm);
  if (digestParam !== null) {
    try {
      const blob = await registry.uploads.complete(name, id, requiredDigest(digestParam), {
        source: ctx.req,
        options: chunkOptions(ctx),
      });
      return blobCreated(ctx, blob);
    } catch (error) {
      // The client never saw this session: nobody else will finish or cancel it.
      await registry.uploads.cancel(name, id).catch(() => undefined);
      throw error;
    }
  }
  reply(ctx.res, 202, progressHeaders(ctx, id, 0));
}

/** `GET <upload location>`: how far the upload has come. */
export async function uploadStatus(ctx: RequestContext): Promise<void> {
  const id = uploadId(ctx);
  const offset = await ctx.registry.uploads.offset(ctx.params.name!, id);
  reply(ctx.res, 204, progressHeaders(ctx, id, offset));
}

/** `PATCH <upload location>`: appends a chunk, streamed, with or without `Content-Range`. */
export async function patchUpload(ctx: RequestContext): Promise<void> {
  const id = uploadId(ctx);
  const offset = await withUploadHeaders(ctx, id, () =>
    ctx.registry.uploads.append(ctx.params.name!, id, ctx.req, chunkOptions(ctx)),
  );
  reply(ctx.res, 202, progressHeaders(ctx, id, offset));
}

/** `PUT <upload location>?digest=`: the last chunk (optional), then verification and commit. */
export async function completeUpload(ctx: RequestContext): Promise<void> {
  const id = uploadId(ctx);
  const digest = requiredDigest(ctx.url.searchParams.get('digest'));
  // The final chunk's Content-Range is read inside the step, so a bad one gets the resume headers too.
  const blob = await withUploadHeaders(ctx, id, () => {
    const finalChunk = hasBody(ctx.req) ? { source: ctx.req, options: chunkOptions(ctx) } : undefined;
    return ctx.registry.uploads.complete(ctx.params.name!, id, digest, finalChunk);
  });
  blobCreated(ctx, blob);
}

/** `DELETE <upload location>`: abandons the session and its bytes. */
export async function cancelUpload(ctx: RequestContext): Promise<void> {
  await ctx.registry.uploads.cancel(ctx.params.name!, uploadId(ctx));
  reply(ctx.res, 204);
}

async function tryMount(ctx: RequestContext, name: string, mount: string, from: string): Promise<boolean> {
  const digest = parseDigest(mount);
  let blob: BlobDescriptor;
  // A mount that cannot be done falls back to a normal upload session, as the spec asks; so does
  // one from a repository the caller may not pull (which must not tell whether the blob is there).
  if (!digest || !isValidName(from) || !ctx.grant.allows(repositoryScope(from, 'pull'))) return false;
  try {
    // A blob marked for deletion by garbage collection is not mounted: the upload session
    // makes the client send it again, which unmarks it.
    blob = await ctx.registry.blobs.statInRepository(from, digest, forNewReference);
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN') return false;
    throw error;
  }
  await ctx.registry.blobs.link(name, digest);
  blobCreated(ctx, blob, from);
  return true;
}

/** Answers a completed upload (or, with `from`, a mount) and reports it as an event. */
function blobCreated(ctx: RequestContext, blob: BlobDescriptor, from?: string): void {
  const { digest } = blob;
  if (ctx.registry.options.events) {
    publishEvent(ctx, from === undefined ? 'push' : 'mount', 'blobs', {
      mediaType: blobTargetMediaType,
      digest: digest.text,
      size: blob.size,
      ...(from === undefined ? {} : { fromRepository: from }),
    });
  }
  reply(ctx.res, 201, {
    Location: ctx.location(`/v2/${ctx.params.name}/blobs/${digest.text}`),
    'Docker-Content-Digest': digest.text,
  });
}

function progressHeaders(ctx: RequestContext, id: string, offset: number): Record<string, string> {
  return {
    Location: ctx.location(`/v2/${ctx.params.name}/blobs/uploads/${id}`),
    // Inclusive end; `0-0` for an empty upload, as Distribution answers.
    Range: `0-${Math.max(offset - 1, 0)}`,
    'Docker-Upload-UUID': id,
  };
}

/**
 * Runs an upload step; a 416 (chunk out of order) gets the headers that tell the client where
 * to resume, and the session stays usable.
 */
async function withUploadHeaders<T>(ctx: RequestContext, id: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof RegistryError && error.status === 416) {
      const offset = await ctx.registry.uploads.offset(ctx.params.name!, id);
      throw new RegistryError(error.code, {
        status: 416,
        message: error.message,
        detail: error.detail,
        headers: progressHeaders(ctx, id, offset),
      });
    }
    throw error;
  }
}

function chunkOptions(ctx: RequestContext): ChunkOptions {
  const options: ChunkOptions = { signal: ctx.signal };
  const declared = Number(ctx.req.headers['content-length'] ?? NaN);
  if (Number.isSafeInteger(declared) && declared >= 0) options.length = declared;
  const range = parseContentRange(ctx.req.headers['content-range']);
  if (range === 'invalid') {
    ctx.req.resume();
    throw new RegistryError('BLOB_UPLOAD_INVALID', {
      status: 416,
      message: `Content-Range must be <start>-<end>, not ${JSON.stringify(ctx.req.headers['content-range'])}`,
    });
  }
  if (range) {
    const length = ctx.req.headers['content-length'];
    if (length !== undefined && Number(length) !== range.end - range.start + 1) {
      ctx.req.resume();
      throw new RegistryError('BLOB_UPLOAD_INVALID', {
        status: 416,
        message: `Content-Range ${range.start}-${range.end} does not match Content-Length ${length}`,
      });
    }
    options.range = range;
  }
  return options;
}

function uploadId(ctx: RequestContext): string {
  const id = ctx.params.uuid!;
  if (!isValidUploadId(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { detail: { uuid: id } });
  return id;
}

function requiredDigest(text: string | null): Digest {
  const digest = text === null ? undefined : parseDigest(text);
  if (!digest) {
    throw new RegistryError('DIGEST_INVALID', {
      message:
        text === null
          ? 'the digest query parameter is required to complete an upload'
          : `invalid digest ${JSON.stringify(text)}: expected sha256:<64 hex> or sha512:<128 hex>`,
      detail: { digest: text },
    });
  }
  return digest;
}

function digestAlgorithm(url: URL, digestParam: string | null): DigestAlgorithm {
  if (digestParam !== null) return requiredDigest(digestParam).algorithm;
  const asked = url.searchParams.get('digest-algorithm');
  if (asked === null) return 'sha256';
  if (!isDigestAlgorithm(asked)) {
    throw new RegistryError('DIGEST_INVALID', {
      message: `unsupported digest algorithm ${JSON.stringify(asked)}: use sha256 or sha512`,
    });
  }
  return asked;
}
