import { repositoryScope } from '../../auth/scope.js';
import type { RequestContext } from '../../http/context.js';
import { replyJson } from '../../http/respond.js';
import { repositoryFacts } from './repository-facts.js';

/**
 * `GET /berth/v1/repositories/<name>/_summary`: the repository's tag count and last push, and
 * whether the caller may delete in it (the UI shows delete buttons only then). Deletes need
 * `storage.delete.enabled`, a writable registry, a repository that is not a pull-through
 * cache (those refuse every write) and the delete action for this caller.
 */
export async function repositorySummary(ctx: RequestContext): Promise<void> {
  const name = ctx.params.name!;
  await ctx.registry.requireRepository(name);
  const { deleteEnabled, readOnly } = ctx.registry.options;
  const canDelete =
    deleteEnabled &&
    readOnly !== true &&
    ctx.pullThrough?.upstreamOf(name) === undefined &&
    ctx.grant.allows(repositoryScope(name, 'delete'));
  replyJson(ctx.res, 200, { ...(await repositoryFacts(ctx.registry, name)), deleteEnabled, canDelete });
}
