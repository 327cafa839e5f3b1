import type { RequestContext } from '../../http/context.js';
import { RegistryError } from '../../protocol/errors.js';

/** The route's repository name, after a 404 NAME_UNKNOWN if the registry holds no such repository. */
export async function knownRepository(ctx: RequestContext): Promise<string> {
  const name = ctx.params.name!;
  if (!(await ctx.registry.hasRepository(name))) {
    throw new RegistryError('NAME_UNKNOWN', { message: `repository ${name} is not known`, detail: { name } });
  }
  return name;
}
