import { randomUUID } from 'node:crypto';
import type { EventAction, EventTarget } from '../../events/event.js';
import type { RequestContext } from '../context.js';

/**
 * Reports what a request did to the registry's event publisher. Callers check
 * `ctx.registry.options.events` first, so that without endpoints no event object is built.
 */
export function publishEvent(
  ctx: RequestContext,
  action: EventAction,
  kind: 'manifests' | 'blobs',
  target: Omit<EventTarget, 'repository' | 'url' | 'length'>,
): void {
  const events = ctx.registry.options.events;
  if (!events) return;
  const repository = ctx.params.name!;
  const { req } = ctx;
  const reference = target.digest ?? target.tag ?? '';
  events.publish({
    action,
    target: {
      ...target,
      ...(target.size !== undefined ? { length: target.size } : {}),
      repository,
      url: ctx.location(`/v2/${repository}/${kind}/${reference}`),
    },
    request: {
      id: randomUUID(),
      addr: `${req.socket?.remoteAddress ?? ''}:${req.socket?.remotePort ?? ''}`,
      host: req.headers.host ?? req.headers[':authority']?.toString() ?? '',
      method: req.method ?? '',
      useragent: req.headers['user-agent'] ?? '',
    },
    actor: ctx.grant.identity.user ? { name: ctx.grant.identity.user } : {},
  });
}
