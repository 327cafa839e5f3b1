import type { RequestContext } from '../../http/context.js';
import { replyJson } from '../../http/respond.js';
import { repositoryUsage } from '../../registry/usage.js';

/** `GET /berth/v1/repositories/<name>/_usage`: the blobs the repository links and their stored bytes (as `berth du`). */
export async function repositoryUsageHandler(ctx: RequestContext): Promise<void> {
  const name = ctx.params.name!;
  await ctx.registry.requireRepository(name);
  replyJson(ctx.res, 200, await repositoryUsage(ctx.registry.driver, name));
}
