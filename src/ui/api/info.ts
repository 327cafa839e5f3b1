import type { RequestContext } from '../../http/context.js';
import { replyJson } from '../../http/respond.js';
import { berthVersion } from '../../version.js';

/** `GET /berth/v1/ui/info`: who the caller is and what the registry allows, for the UI's header and buttons. */
export async function uiInfo(ctx: RequestContext): Promise<void> {
  replyJson(ctx.res, 200, {
    user: ctx.grant.identity.user ?? null,
    deleteEnabled: ctx.registry.options.deleteEnabled,
    readOnly: ctx.registry.options.readOnly === true,
    version: berthVersion,
  });
}
