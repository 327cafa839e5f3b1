import { looksLikeDigest } from '../../protocol/digest.js';
import { RegistryError } from '../../protocol/errors.js';
import { isValidTag } from '../../protocol/names.js';
import { parseReference, type Reference } from '../../registry/manifest-store.js';
import type { RequestContext } from '../context.js';
import { readSmallBody } from '../request-body.js';
import { reply } from '../respond.js';
import { requireDeletes } from './blobs.js';
import { publishEvent } from './publish-event.js';

/** `GET`/`HEAD /v2/<name>/manifests/<reference>`: the stored bytes with their media type. */
export async function getManifest(ctx: RequestContext): Promise<void> {
  const name = ctx.params.name!;
  const reference = routeReference(ctx);
  // A proxied repository first brings the manifest (or the tag's current digest) from its upstream.
  await ctx.pullThrough?.prepareManifest(name, reference);
  const manifest = await ctx.registry.manifests.get(name, reference);
  const headers = {
    'Content-Type': manifest.mediaType,
    'Docker-Content-Digest': manifest.digest.text,
    ETag: `"${manifest.digest.text}"`,
  };
  if (ctx.req.headers['if-none-match'] === headers.ETag) return reply(ctx.res, 304, headers);
  // A HEAD counts too: docker and containerd only HEAD a tag whose image they have, and that
  // image is in use; the least recently pulled content is what the cache drops first.
  ctx.pullThrough?.recordPull(name, manifest.digest.text, manifest.bytes.length);
  if (ctx.registry.options.events && ctx.req.method === 'GET') {
    publishEvent(ctx, 'pull', 'manifests', {
      mediaType: manifest.mediaType,
      digest: manifest.digest.text,
      size: manifest.bytes.length,
      ...('tag' in reference ? { tag: reference.tag } : {}),
    });
  }
  reply(ctx.res, 200, headers, manifest.bytes);
}

/**
 * `PUT /v2/<name>/manifests/<reference>`: stores the manifest after checking that everything it
 * references is in the repository. Pushing by digest may add tags with `?tag=` (OCI v1.1).
 */
export async function putManifest(ctx: RequestContext): Promise<void> {
  const name = ctx.params.name!;
  const reference = routeReference(ctx);
  const extraTags = 'digest' in reference ? ctx.url.searchParams.getAll('tag') : [];
  const invalidTag = extraTags.find((tag) => !isValidTag(tag));
  if (invalidTag !== undefined) throw tagInvalid(invalidTag);
  // Before the body is read: a push that would pass limits.tags stores nothing.
  await ctx.registry.tags.ensureRoom(name, 'tag' in reference ? [reference.tag, ...extraTags] : extraTags);
  const bytes = await readSmallBody(ctx.req, ctx.registry.limits.manifestBytes, 'manifest');
  const result = await ctx.registry.manifests.put(name, reference, bytes, ctx.req.headers['content-type']);
  for (const tag of extraTags) await ctx.registry.tags.set(name, tag, result.digest);
  if (ctx.registry.options.events) {
    // One event per tag the push set (Distribution's receivers expect one tag per event).
    const tags = 'tag' in reference ? [reference.tag] : extraTags;
    const target = { mediaType: result.mediaType, digest: result.digest.text, size: bytes.length };
    if (tags.length === 0) publishEvent(ctx, 'push', 'manifests', target);
    for (const tag of tags) publishEvent(ctx, 'push', 'manifests', { ...target, tag });
  }
  const headers: Record<string, string | string[]> = {
    Location: ctx.location(`/v2/${name}/manifests/${result.digest.text}`),
    'Docker-Content-Digest': result.digest.text,
  };
  if (result.subject) headers['OCI-Subject'] = result.subject.text;
  if (extraTags.length > 0) headers['OCI-Tag'] = extraTags;
  reply(ctx.res, 201, headers);
}

/** `DELETE /v2/<name>/manifests/<reference>`: by digest the revision and its tags; by tag the tag. */
export async function deleteManifest(ctx: RequestContext): Promise<void> {
  requireDeletes(ctx);
  const reference = routeReference(ctx);
  await ctx.registry.manifests.delete(ctx.params.name!, reference);
  if (ctx.registry.options.events) {
    publishEvent(ctx, 'delete', 'manifests', 'tag' in reference ? { tag: reference.tag } : { digest: reference.digest.text });
  }
  reply(ctx.res, 202);
}

function routeReference(ctx: RequestContext): Reference {
  const text = ctx.params.reference!;
  const reference = parseReference(text);
  if (reference) return reference;
  if (looksLikeDigest(text)) {
    throw new RegistryError('DIGEST_INVALID', {
      message: `invalid digest ${JSON.stringify(text)}: expected sha256:<64 hex> or sha512:<128 hex>`,
      detail: { digest: text },
    });
  }
  throw tagInvalid(text);
}

function tagInvalid(tag: string): RegistryError {
  return new RegistryError('TAG_INVALID', {
    message: `invalid tag ${JSON.stringify(tag)}: a tag matches [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`,
    detail: { tag },
  });
}
