import { repositoryScope } from '../../auth/scope.js';
import { mediaTypes } from '../../protocol/media-types.js';
import type { RequestContext } from '../context.js';
import { nextLink, parsePageRequest, takePage } from '../pagination.js';
import { replyJson } from '../respond.js';
import { routeDigest } from './blobs.js';

/** `GET /v2/`: the API is here (auth comes in front of it later). */
export async function apiBase(ctx: RequestContext): Promise<void> {
  replyJson(ctx.res, 200, {});
}

/** `GET /v2/<name>/tags/list`: every tag, or a page of them with `n` and `last`. */
export async function listTags(ctx: RequestContext): Promise<void> {
  const name = ctx.params.name!;
  await ctx.registry.requireRepository(name);
  const { n, last } = parsePageRequest(ctx.url);
  const tags = await ctx.registry.tags.list(name);
  // Above `tags.maxtags` (asked for or not), this many and a `Link` to the rest: the spec lets
  // a registry send fewer than `n`, and clients follow the Link.
  const limit = Math.min(n ?? tags.length, ctx.registry.limits.tagsPage);
  const page = takePage(tags, limit, last);
  const headers: Record<string, string> = {};
  if (page.more && limit > 0) {
    headers.Link = nextLink(ctx.location(`/v2/${name}/tags/list`), limit, page.entries.at(-1)!);
  }
  replyJson(ctx.res, 200, { name, tags: page.entries }, headers);
}

/** `GET /v2/_catalog`: repository names in code-point order, paginated with `n`, `last` and `Link`. */
export async function listCatalog(ctx: RequestContext): Promise<void> {
  const { n, last } = parsePageRequest(ctx.url);
  // `catalog.maxentries` is the page size without `n` and the most one page holds (a larger `n`
  // gets this many and a `Link`, where Distribution answers 400).
  const maxEntries = ctx.registry.limits.catalogPage;
  const limit = Math.min(n ?? maxEntries, maxEntries);
  // Only what the caller may pull is listed (everything, without access rules).
  const page = takePage(await ctx.registry.repositories(), limit, last, (repo) =>
    ctx.grant.allows(repositoryScope(repo, 'pull')),
  );
  const headers: Record<string, string> = {};
  if (page.more && limit > 0) headers.Link = nextLink(ctx.location('/v2/_catalog'), limit, page.entries.at(-1)!);
  replyJson(ctx.res, 200, { repositories: page.entries }, headers);
}

/** `GET /v2/<name>/referrers/<digest>`: an OCI index of the manifests whose subject is digest. */
export async function listReferrers(ctx: RequestContext): Promise<void> {
  const artifactType = ctx.url.searchParams.get('artifactType') ?? undefined;
  const manifests = await ctx.registry.referrers.list(ctx.params.name!, routeDigest(ctx), artifactType);
  const headers: Record<string, string> = { 'Content-Type': mediaTypes.ociIndex };
  if (artifactType !== undefined) headers['OCI-Filters-Applied'] = 'artifactType';
  replyJson(ctx.res, 200, { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests }, headers);
}
