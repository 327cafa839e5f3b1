import { z } from 'zod';
import { clientAuthModes, tlsVersionNames } from '../../http/listener.js';
import { duration, flag, headerMap, int, section, stringList, text } from '../values.js';

const letsencrypt = section({
  cachefile: text,
  email: text,
  hosts: stringList.optional(),
  directoryurl: text.optional(),
});

/**
 * `http.tls`. As in Distribution, TLS is on when `certificate` is set (or letsencrypt, which
 * Berth does not implement); certificate and key go together.
 */
const tls = section({
  certificate: text.optional(),
  key: text.optional(),
  /** CA bundles for client certificates. Without them clientauth does not apply. */
  clientcas: stringList.optional(),
  clientauth: z
    .enum(clientAuthModes, { error: `must be one of ${clientAuthModes.join(', ')}` })
    .default('require-and-verify-client-cert'),
  minimumtls: z.enum(tlsVersionNames, { error: `must be one of ${tlsVersionNames.join(', ')}` }).default('tls1.2'),
  ciphersuites: stringList.optional(),
  letsencrypt: letsencrypt.optional(),
}).superRefine((tls, ctx) => {
  if (tls.certificate !== undefined && tls.key === undefined) {
    ctx.addIssue({ code: 'custom', path: ['key'], message: 'required with http.tls.certificate' });
  }
  if (tls.key !== undefined && tls.certificate === undefined) {
    ctx.addIssue({ code: 'custom', path: ['certificate'], message: 'required with http.tls.key' });
  }
});

const debug = section({
  addr: text.optional(),
  prometheus: section({ enabled: flag.optional(), path: text.optional() }).optional(),
});

export const httpSchema = section({
  /** `host:port` or `:port` for tcp; a socket file for unix. */
  addr: text.default(':5000'),
  net: z.enum(['tcp', 'unix'], { error: 'must be tcp or unix' }).default('tcp'),
  /** The externally reachable URL; makes Location and Link headers absolute. */
  host: z.url({ error: 'must be an absolute URL such as https://registry.example.com' }).optional(),
  /** The path the API is served under (`/registry/`), for a registry behind a path-routing proxy. */
  prefix: text.refine((v) => v.startsWith('/'), { message: 'must be a path starting with /' }).optional(),
  secret: text.optional(),
  relativeurls: flag.default(false),
  /** How long to wait for requests in flight when stopping; 0: do not wait. */
  draintimeout: duration.prefault(0),
  tls: tls.optional(),
  debug: debug.optional(),
  /** Headers added to every response: name → values. */
  headers: headerMap.default({}),
  http2: section({ disabled: flag.default(false) }).prefault({}),
  /** HTTP/2 without TLS (prior knowledge), for a registry behind a load balancer that speaks it. */
  h2c: section({ enabled: flag.default(false) }).prefault({}),
  /**
   * Berth: worker processes serving the same address and storage (`serve --workers` overrides
   * it). Unset: one per core but one (at least one), as the machine running `serve` counts them, which is why the
   * default is not written here. The inmemory driver always runs one.
   */
  workers: int.min(1, { error: 'must be at least 1' }).optional(),
  /**
   * Berth: how long a client may take, so slow or stalled clients cannot hold connections (see
   * src/http/timeouts.ts). 0 turns a check off.
   */
  timeouts: section({
    /** The whole request head must arrive within it (answered 408). */
    header: duration.prefault('30s'),
    /**
     * A request whose body or answer makes no progress for this long is cut. Between requests a
     * connection is kept open for this long, but at least 65s (longer than load balancers keep theirs).
     */
    idle: duration.prefault('60s'),
    /** Bytes per second a request body must average after minrategrace; stops one-byte-a-second bodies. */
    minrate: int.min(0, { error: 'must be 0 or more' }).default(1024),
    minrategrace: duration.prefault('10s'),
    /** A hard cap on receiving a whole request (head and body); 0: none, as a 10 GB push may take hours. */
    request: duration.prefault(0),
  }).prefault({}),
  /**
   * Berth: connections beyond this many are closed at once; 0: no cap. The timeouts already bound
   * how long a client holds one; set this below the process's open-file limit when it is low.
   */
  maxconnections: int.min(0, { error: 'must be 0 or more' }).default(0),
}).prefault({});

export type HttpConfig = z.output<typeof httpSchema>;
export type TlsConfig = NonNullable<HttpConfig['tls']>;
