import type { RequestContext } from '../context.js';
import { reply } from '../respond.js';

/**
 * `DELETE /berth/v1/repositories/<name>`: removes the repository (links, tags, revisions,
 * uploads); blob content stays for garbage collection. 202 as the API's other deletes.
 */
export async function deleteRepository(ctx: RequestContext): Promise<void> {
  const name = ctx.params.name!;
  await ctx.registry.deleteRepository(name);
  ctx.log.info({ repository: name, user: ctx.grant.identity.user }, 'repository deleted');
  reply(ctx.res, 202);
}
