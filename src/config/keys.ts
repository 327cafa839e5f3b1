/**
 * The key tree of Distribution's `config.yml` (version 0.1), marking what Berth implements.
 * `true`: an implemented leaf; an object: a section with its own keys; `'later'`: a key
 * Distribution knows that Berth does not implement yet (reported as a warning, never fatal).
 * A key in none of these is an error. This tree also decides which `REGISTRY_*` variables name
 * a key.
 */
export type KeyTree = { readonly [key: string]: true | 'later' | KeyTree };

export const configKeys: KeyTree = {
  version: true,
  loglevel: 'later',
  log: {
    level: true,
    formatter: 'later',
    fields: 'later',
    hooks: 'later',
    reportcaller: 'later',
    accesslog: { disabled: true },
  },
  storage: {
    filesystem: { rootdirectory: true, maxthreads: 'later' },
    inmemory: true,
    delete: { enabled: true },
    s3: 'later',
    azure: 'later',
    gcs: 'later',
    swift: 'later',
    oss: 'later',
    cache: 'later',
    redirect: 'later',
    maintenance: 'later',
    tag: 'later',
  },
  auth: 'later',
  middleware: 'later',
  reporting: 'later',
  http: {
    addr: true,
    host: true,
    net: 'later',
    prefix: 'later',
    secret: 'later',
    relativeurls: 'later',
    draintimeout: 'later',
    tls: 'later',
    debug: 'later',
    headers: 'later',
    http2: 'later',
    h2c: 'later',
  },
  notifications: 'later',
  redis: 'later',
  health: 'later',
  proxy: 'later',
  validation: 'later',
  compatibility: 'later',
  catalog: 'later',
};
