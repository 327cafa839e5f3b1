import { repositoryScope } from '../../auth/scope.js';
import type { RequestContext } from '../../http/context.js';
import { replyJson } from '../../http/respond.js';
import { mapLimit } from '../../registry/map-limit.js';
import { pageOf, parseListQuery } from './list-query.js';
import { repositoryFacts, uiConcurrency } from './repository-facts.js';

/** Repositories per page: 50 unless asked, never more than 200 (each costs a tag listing). */
const pageSizes = { defaultSize: 50, maxSize: 200 };

/**
 * `GET /berth/v1/repositories?q=&n=&last=`: the repositories the caller may pull, filtered by
 * `q`, one page with each one's tag count and last push. The whole name list is filtered in
 * memory; storage is asked only about the page.
 */
export async function listRepositories(ctx: RequestContext): Promise<void> {
  const query = parseListQuery(ctx.url, pageSizes);
  const page = pageOf(await ctx.registry.repositories(), query, (name) => ctx.grant.allows(repositoryScope(name, 'pull')));
  const repositories = await mapLimit(page.entries, uiConcurrency, (name) => repositoryFacts(ctx.registry, name));
  replyJson(ctx.res, 200, { repositories, total: page.total, next: page.next });
}
