import { z } from 'zod';
import { duration, section, text } from '../values.js';

/** `proxy`: run as a pull-through cache of another registry. */
export const proxySchema = section({
  remoteurl: text,
  username: text.optional(),
  password: text.optional(),
  /** A credential helper to run instead of username and password (3.x). */
  exec: section({ command: text, lifetime: duration.optional() }).optional(),
  ttl: duration.optional(),
  cachewritetimeout: duration.optional(),
}).optional();

export type ProxyConfig = NonNullable<z.output<typeof proxySchema>>;
