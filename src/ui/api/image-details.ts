import type { RequestContext } from '../../http/context.js';
import { replyJson } from '../../http/respond.js';
import { parseDigest, type Digest } from '../../protocol/digest.js';
import { RegistryError } from '../../protocol/errors.js';
import { mapLimit } from '../../registry/map-limit.js';
import type { StoredManifest } from '../../registry/manifest-store.js';
import { readImageConfig } from './image-config.js';
import { summariesOf } from './manifest-summary.js';
import { platformText, viewManifest, type DescriptorView } from './manifest-view.js';
import { uiConcurrency } from './repository-facts.js';

/**
 * `GET /berth/v1/repositories/<name>/_images/<digest>`: everything the image page shows of one
 * manifest revision. Served here rather than read by the browser through `/v2/` because the
 * config blob may be answered with a redirect to object storage (unreadable cross-origin), and
 * an index's total size needs its children read.
 */
export async function imageDetails(ctx: RequestContext): Promise<void> {
  const name = ctx.params.name!;
  const digest = parseDigest(ctx.params.digest!)!; // the router checked the grammar
  const stored = await storedManifest(ctx, name, digest);
  const view = viewManifest(stored.bytes);
  const summaries = summariesOf(ctx.registry);
  // The page shows the config's content: read once here, and the summary takes its facts from this read.
  const configRead = view.config ? await readImageConfig(ctx.registry, view.config) : undefined;
  if (view.config && configRead) summaries.configs.learn(view.config, configRead);
  const [tags, children] = await Promise.all([
    ctx.registry.tags.pointingAt(name, digest),
    mapLimit(view.manifests, uiConcurrency, async (child) => {
      const childDigest = parseDigest(child.digest);
      return childDigest ? await summaries.of(childDigest) : undefined;
    }),
  ]);
  // After the children: their summaries are kept by now, so the index's own reads none of them again.
  const summary = await summaries.of(digest);
  const details: Record<string, unknown> = {
    name,
    digest: digest.text,
    mediaType: view.mediaType,
    size: stored.bytes.length,
    totalSize: summary?.size ?? stored.bytes.length,
    kind: view.kind,
  };
  if (view.artifactType) details.artifactType = view.artifactType;
  // The same "created" as the tag list shows for this manifest.
  details.created = summary?.created ?? null;
  details.manifest = stored.bytes.toString('utf8');
  details.tags = tags;
  if (view.subject) details.subject = view.subject;
  if (view.config) {
    const content = configRead?.state === 'parsed' ? configRead.content : undefined;
    const platform = content && view.kind === 'image' ? platformText(content) : undefined;
    if (platform) details.platform = platform;
    const { digest: configDigest, mediaType, size } = view.config;
    details.config = { digest: configDigest, mediaType, size, ...(content ? { content } : {}) };
  }
  details.layers = view.layers.map(layerRow);
  details.manifests = view.manifests.map((child, i) => ({
    digest: child.digest,
    mediaType: child.mediaType,
    size: child.size,
    ...(child.platform ? { platform: child.platform } : {}),
    ...(child.artifactType ? { artifactType: child.artifactType } : {}),
    totalSize: children[i]?.size ?? null,
  }));
  replyJson(ctx.res, 200, details);
}

/** The revision's bytes; 404 MANIFEST_UNKNOWN also when the revision is linked but its bytes are gone. */
async function storedManifest(ctx: RequestContext, name: string, digest: Digest): Promise<StoredManifest> {
  try {
    return await ctx.registry.manifests.get(name, { digest });
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN') {
      throw new RegistryError('MANIFEST_UNKNOWN', { detail: { digest: digest.text }, cause: error });
    }
    throw error;
  }
}

function layerRow(layer: DescriptorView): Record<string, unknown> {
  const { digest, mediaType, size, annotations } = layer;
  return { digest, mediaType, size, ...(annotations ? { annotations } : {}) };
}
