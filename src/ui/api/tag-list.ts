import type { RequestContext } from '../../http/context.js';
import { replyJson } from '../../http/respond.js';
import { mapLimit } from '../../registry/map-limit.js';
import type { Registry } from '../../registry/registry.js';
import { pageOf, parseListQuery } from './list-query.js';
import { summariesOf, type ManifestSummary } from './manifest-summary.js';
import { tagPushedAt, uiConcurrency } from './repository-facts.js';

/** Tags per page: 100 unless asked, never more than 1000. */
const pageSizes = { defaultSize: 100, maxSize: 1000 };

/** One row of the UI's tag table: the manifest the tag points at, summarized, and when the tag was pushed. */
export interface TagSummary extends ManifestSummary {
  readonly tag: string;
  readonly pushedAt: string | null;
}

/**
 * `GET /berth/v1/repositories/<name>/_tags?q=&n=&last=`: tags in code-point order (as
 * `tags/list`), filtered by `q`, one page of them summarized.
 */
export async function listTagSummaries(ctx: RequestContext): Promise<void> {
  const name = ctx.params.name!;
  await ctx.registry.requireRepository(name);
  const page = pageOf(await ctx.registry.tags.list(name), parseListQuery(ctx.url, pageSizes));
  const rows = await mapLimit(page.entries, uiConcurrency, (tag) => tagSummary(ctx.registry, name, tag));
  // A tag deleted since the listing has no row (the count still has it: it was there a moment ago).
  const tags = rows.filter((row): row is TagSummary => row !== undefined);
  replyJson(ctx.res, 200, { name, tags, total: page.total, next: page.next });
}

/** The row of one tag; undefined once the tag is gone. A manifest whose bytes are missing is `other`, of size 0. */
async function tagSummary(registry: Registry, name: string, tag: string): Promise<TagSummary | undefined> {
  const [digest, pushedAt] = await Promise.all([registry.tags.resolve(name, tag), tagPushedAt(registry, name, tag)]);
  if (!digest) return undefined;
  const summary: ManifestSummary = (await summariesOf(registry).of(digest)) ?? {
    digest: digest.text,
    mediaType: '',
    kind: 'other',
    size: 0,
    platforms: [],
    created: null,
  };
  return { tag, ...summary, pushedAt };
}
