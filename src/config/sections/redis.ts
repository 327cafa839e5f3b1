import { z } from 'zod';
import { duration, flag, int, section, stringList, text } from '../values.js';

/**
 * `redis`: Distribution 2.8 has one `addr` and a `pool` section; 3.x has `addrs` and the options
 * of go-redis's universal client at this level. Both spellings are accepted.
 */
export const redisSchema = section({
  addr: text.optional(),
  addrs: stringList.optional(),
  clientname: text.optional(),
  db: int.optional(),
  protocol: int.optional(),
  username: text.optional(),
  password: text.optional(),
  sentinelusername: text.optional(),
  sentinelpassword: text.optional(),
  mastername: text.optional(),
  maxretries: int.optional(),
  minretrybackoff: duration.optional(),
  maxretrybackoff: duration.optional(),
  dialtimeout: duration.optional(),
  readtimeout: duration.optional(),
  writetimeout: duration.optional(),
  contexttimeoutenabled: flag.optional(),
  poolfifo: flag.optional(),
  poolsize: int.optional(),
  pooltimeout: duration.optional(),
  minidleconns: int.optional(),
  maxidleconns: int.optional(),
  maxactiveconns: int.optional(),
  connmaxidletime: duration.optional(),
  connmaxlifetime: duration.optional(),
  maxredirects: int.optional(),
  readonly: flag.optional(),
  routebylatency: flag.optional(),
  routerandomly: flag.optional(),
  disableidentity: flag.optional(),
  identitysuffix: text.optional(),
  unstableresp3: flag.optional(),
  /** Distribution 2.8's connection pool. */
  pool: section({ maxidle: int.optional(), maxactive: int.optional(), idletimeout: duration.optional() }).optional(),
  tls: section({
    enabled: flag.optional(),
    certificate: text.optional(),
    key: text.optional(),
    rootcas: stringList.optional(),
    /** The 3.0 name of rootcas. */
    clientcas: stringList.optional(),
  }).optional(),
}).optional();

export type RedisConfig = NonNullable<z.output<typeof redisSchema>>;
