import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Grant } from '../auth/access-controller.js';
import type { PullThrough } from '../proxy/pull-through.js';
import type { Registry } from '../registry/registry.js';

/** Everything a handler gets: the request, its parsed URL parts, and the services it may use. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** Path parameters from the route: `name`, `reference`, `digest`, `uuid`. */
  readonly params: Readonly<Record<string, string>>;
  readonly registry: Registry;
  /** `proxy`: the pull-through cache, asked first for proxied repositories; absent when not configured. */
  readonly pullThrough?: PullThrough;
  /** What the caller may do, from the access controller (checked before the handler ran). */
  readonly grant: Grant;
  readonly log: Logger;
  /** Fires when the client goes away before the answer is complete. */
  readonly signal: AbortSignal;
  /** Turns an API path (`/v2/...`) into the URL sent in `Location` and `Link` headers. */
  readonly location: (path: string) => string;
}

export type Handler = (ctx: RequestContext) => Promise<void>;
