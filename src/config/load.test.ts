import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from './load.js';

let directory: string;
let counter = 0;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'berth-config-'));
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Writes a config file with this YAML and returns its path. */
async function configFile(yaml: string): Promise<string> {
  const file = join(directory, `config-${counter++}.yml`);
  await writeFile(file, yaml);
  return file;
}

/** Asserts that loading fails with a ConfigError whose message matches. */
async function assertConfigError(yaml: string, message: RegExp, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const file = await configFile(yaml);
  await assert.rejects(
    () => loadConfig(file, env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
      assert.match(error.message, message);
      return true;
    },
  );
}

/** The shape of Distribution's own config.yml, as shipped in its image. */
const distributionConfig = `version: 0.1
log:
  level: debug
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
  host: https://registry.example.com
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

const minimal = `version: 0.1
storage:
  inmemory:
`;

describe('loadConfig: sources', () => {
  test('without a file, the embedded default: filesystem under ./data, deletes on, port 5000', async () => {
    const { config, warnings, source } = await loadConfig(undefined, {});
    assert.equal(source, 'embedded default');
    assert.deepEqual(warnings, []);
    assert.equal(config.version, '0.1');
    assert.deepEqual(config.storage.filesystem, { rootdirectory: './data' });
    assert.equal(config.storage.inmemory, undefined);
    assert.equal(config.storage.delete.enabled, true);
    assert.equal(config.http.addr, '0.0.0.0:5000');
    assert.equal(config.http.host, undefined);
    assert.equal(config.log.level, 'info');
    assert.equal(config.log.accesslog.disabled, false);
  });

  test('a Distribution config file: implemented keys read, the rest set aside with a warning each', async () => {
    const file = await configFile(distributionConfig);
    const { config, warnings, source } = await loadConfig(file, {});
    assert.equal(source, file);
    assert.deepEqual(config.storage.filesystem, { rootdirectory: '/var/lib/registry' });
    assert.equal(config.storage.delete.enabled, true);
    assert.equal(config.http.addr, '127.0.0.1:5000');
    assert.equal(config.http.host, 'https://registry.example.com');
    assert.equal(config.log.level, 'debug');
    assert.deepEqual(config.http.headers, { 'X-Content-Type-Options': ['nosniff'] });
    assert.deepEqual(config.health?.storagedriver, { enabled: true, interval: 10_000, threshold: 3 });
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.log.fields, { service: 'registry' });
  });

  test('defaults fill what the file leaves out', async () => {
    const { config, warnings } = await loadConfig(await configFile(minimal), {});
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.storage.inmemory, {});
    assert.equal(config.storage.filesystem, undefined);
    assert.equal(config.storage.delete.enabled, false);
    assert.equal(config.http.addr, ':5000');
    assert.equal(config.log.level, 'info');
    assert.deepEqual(
      { ...config.http },
      {
        addr: ':5000',
        net: 'tcp',
        relativeurls: false,
        draintimeout: 0,
        headers: {},
        http2: { disabled: false },
        h2c: { enabled: false },
        timeouts: { header: 30_000, idle: 60_000, minrate: 1024, minrategrace: 10_000, request: 0 },
        maxconnections: 0,
      },
    );
    assert.equal(config.auth, undefined);
    assert.equal(config.access, undefined);
  });

  test('storage may name a driver without parameters as a plain string, as in Distribution', async () => {
    const { config } = await loadConfig(await configFile('version: 0.1\nstorage: inmemory\n'), { REGISTRY_STORAGE_DELETE_ENABLED: 'true' });
    assert.deepEqual(config.storage.inmemory, {});
    assert.equal(config.storage.delete.enabled, true);
  });

  test('log.level is read case-insensitively, as Distribution does', async () => {
    const { config } = await loadConfig(await configFile(`${minimal}log:\n  level: DEBUG\n`), {});
    assert.equal(config.log.level, 'debug');
  });

  test('an empty filesystem section means the default root directory', async () => {
    const { config } = await loadConfig(await configFile('version: 0.1\nstorage:\n  filesystem:\n'), {});
    assert.deepEqual(config.storage.filesystem, { rootdirectory: '/var/lib/registry' });
  });

  test('version may be written as a string', async () => {
    const { config } = await loadConfig(await configFile(`version: "0.1"\nstorage:\n  inmemory:\n`), {});
    assert.equal(config.version, '0.1');
  });

  test('log.accesslog.disabled is read', async () => {
    const { config } = await loadConfig(await configFile(`${minimal}log:\n  accesslog:\n    disabled: true\n`), {});
    assert.equal(config.log.accesslog.disabled, true);
  });
});

describe('loadConfig: REGISTRY_* overrides', () => {
  const withDeleteOff = distributionConfig.replace('enabled: true\nhttp', 'enabled: false\nhttp');

  test('environment variables win over the file', async () => {
    const file = await configFile(withDeleteOff);
    assert.equal((await loadConfig(file, {})).config.storage.delete.enabled, false);
    const { config } = await loadConfig(file, {
      REGISTRY_HTTP_ADDR: '127.0.0.1:6000',
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/srv/registry',
      REGISTRY_STORAGE_DELETE_ENABLED: 'true',
      REGISTRY_LOG_LEVEL: 'warn',
      REGISTRY_HTTP_HOST: 'https://other.example.com',
    });
    assert.equal(config.http.addr, '127.0.0.1:6000');
    assert.deepEqual(config.storage.filesystem, { rootdirectory: '/srv/registry' });
    assert.equal(config.storage.delete.enabled, true);
    assert.equal(config.log.level, 'warn');
    assert.equal(config.http.host, 'https://other.example.com');
  });

  test('an override can turn a flag off, and applies to the embedded default too', async () => {
    const file = await configFile(distributionConfig);
    assert.equal((await loadConfig(file, { REGISTRY_STORAGE_DELETE_ENABLED: 'false' })).config.storage.delete.enabled, false);
    const { config } = await loadConfig(undefined, { REGISTRY_HTTP_ADDR: ':7000', REGISTRY_STORAGE_DELETE_ENABLED: 'false' });
    assert.equal(config.http.addr, ':7000');
    assert.equal(config.storage.delete.enabled, false);
  });

  test('an override may create a section the file does not have', async () => {
    const { config } = await loadConfig(await configFile(minimal), { REGISTRY_HTTP_ADDR: '127.0.0.1:5001' });
    assert.equal(config.http.addr, '127.0.0.1:5001');
  });

  test('variables that name no key are ignored with a warning naming the variable', async () => {
    const { config, warnings } = await loadConfig(await configFile(minimal), {
      REGISTRY_PORT: 'tcp://10.0.0.1:5000',
      REGISTRY_SERVICE_HOST: '10.0.0.1',
      REGISTRY_STORAGE_INMEMORY_SIZE: '10',
      NOT_REGISTRY_HTTP_ADDR: 'x',
    });
    assert.equal(config.http.addr, ':5000');
    assert.deepEqual(warnings, [
      'environment variable REGISTRY_PORT names no configuration key; ignored',
      'environment variable REGISTRY_SERVICE_HOST names no configuration key; ignored',
      'environment variable REGISTRY_STORAGE_INMEMORY_SIZE names no configuration key; ignored',
    ]);
  });

  test('variables for keys not implemented yet warn that the key is not implemented', async () => {
    const { config, warnings } = await loadConfig(await configFile(minimal), {
      REGISTRY_HTTP_SECRET: 'a secret',
      REGISTRY_REDIS_ADDR: 'redis.internal:6379',
      REGISTRY_REDIS_POOLSIZE: '10',
      REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES: 'true',
    });
    assert.deepEqual(warnings.sort(), [
      'http.secret: not implemented by this version of Berth; ignored',
      'notifications.events: not implemented by this version of Berth; ignored',
      'redis.poolsize: not implemented by this version of Berth; ignored',
    ]);
    assert.ok(!warnings.join('\n').includes('a secret'), 'values never appear in warnings');
    // Set aside means not acted on: the values are still read and typed.
    assert.equal(config.redis?.addr, 'redis.internal:6379');
    assert.equal(config.notifications?.events?.includereferences, true);
  });

  test('lists, mappings and nested keys: YAML flow values, list indexes, case-insensitive names', async () => {
    const file = await configFile(`${minimal}http:
  tls:
    certificate: /file/cert.pem
    key: /file/key.pem
    clientcas: [/file/ca.pem]
  headers:
    X-Frame-Options: [DENY]
access:
  groups:
    devs: [bob]
  rules:
    - repository: team/*
      users: {bob: [pull]}
`);
    const { config, warnings } = await loadConfig(file, {
      REGISTRY_HTTP_TLS_CLIENTCAS: '[/env/ca-1.pem, /env/ca-2.pem]',
      REGISTRY_HTTP_TLS_KEY: '/env/key.pem',
      REGISTRY_HTTP_HEADERS_X_FRAME_OPTIONS: '[SAMEORIGIN]',
      REGISTRY_HTTP_HEADERS: '{X-Frame-Options: [SAMEORIGIN], Referrer-Policy: [no-referrer]}',
      REGISTRY_ACCESS_GROUPS_DEVS: '[bob, carol]',
      REGISTRY_ACCESS_GROUPS_OPS: '[dave]',
      REGISTRY_ACCESS_RULES_0_USERS_BOB: '[pull, push]',
      REGISTRY_ACCESS_RULES_1_REPOSITORY: 'public/*',
      REGISTRY_ACCESS_RULES_1_ANONYMOUS: '[pull]',
      REGISTRY_Access_Admins: '[alice]',
    });
    assert.deepEqual(config.http.tls?.clientcas, ['/env/ca-1.pem', '/env/ca-2.pem']);
    assert.equal(config.http.tls?.certificate, '/file/cert.pem');
    assert.equal(config.http.tls?.key, '/env/key.pem');
    // X_FRAME_OPTIONS is split on "_" like every name, so it names no key below http.headers;
    // a whole mapping can be given instead.
    assert.deepEqual(config.http.headers, { 'X-Frame-Options': ['SAMEORIGIN'], 'Referrer-Policy': ['no-referrer'] });
    assert.deepEqual(config.access?.groups, { devs: ['bob', 'carol'], ops: ['dave'] });
    assert.deepEqual(config.access?.admins, ['alice']);
    assert.deepEqual(config.access?.rules, [
      { repository: 'team/*', anonymous: [], authenticated: [], users: { bob: ['pull', 'push'] }, groups: {} },
      { repository: 'public/*', anonymous: ['pull'], authenticated: [], users: {}, groups: {} },
    ]);
    assert.deepEqual(warnings, ['environment variable REGISTRY_HTTP_HEADERS_X_FRAME_OPTIONS names no configuration key; ignored']);
  });

  test('values are read as YAML for typed keys, and as written for text keys', async () => {
    const { config } = await loadConfig(await configFile(minimal), {
      REGISTRY_HTTP_SECRET: '0123',
      REGISTRY_HTTP_HOST: 'https://registry.example.com:8443',
      REGISTRY_HTTP_RELATIVEURLS: 'true',
      REGISTRY_HTTP_DRAINTIMEOUT: '1m30s',
      REGISTRY_HTTP_HTTP2_DISABLED: 'true',
      REGISTRY_HTTP_H2C_ENABLED: 'true',
      REGISTRY_HTTP_NET: 'unix',
      REGISTRY_HTTP_ADDR: '/run/berth.sock',
      REGISTRY_CATALOG_MAXENTRIES: '200',
      REGISTRY_AUTH_NONE: '',
    });
    assert.equal(config.http.secret, '0123');
    assert.equal(config.http.host, 'https://registry.example.com:8443');
    assert.equal(config.http.relativeurls, true);
    assert.equal(config.http.draintimeout, 90_000);
    assert.equal(config.http.http2.disabled, true);
    assert.equal(config.http.h2c.enabled, true);
    assert.equal(config.http.net, 'unix');
    assert.equal(config.http.addr, '/run/berth.sock');
    assert.equal(config.catalog?.maxentries, 200);
    assert.deepEqual(config.auth, { none: {} });
  });

  test('a list the file does not have can be started at index 0', async () => {
    const { config, warnings } = await loadConfig(await configFile(minimal), {
      REGISTRY_ACCESS_RULES_0_REPOSITORY: 'public/*',
      REGISTRY_ACCESS_RULES_0_ANONYMOUS: '[pull]',
      REGISTRY_ACCESS_RULES_2_REPOSITORY: 'skips/one',
    });
    assert.deepEqual(config.access?.rules, [{ repository: 'public/*', anonymous: ['pull'], authenticated: [], users: {}, groups: {} }]);
    assert.deepEqual(warnings, ['environment variable REGISTRY_ACCESS_RULES_2_REPOSITORY names no configuration key; ignored']);
  });

  test('an override can fill in a section the file names', async () => {
    const file = await configFile(`${minimal}auth:
  htpasswd:
    realm: Registry
    path: /file/htpasswd
`);
    const { config } = await loadConfig(file, { REGISTRY_AUTH_HTPASSWD_PATH: '/env/htpasswd' });
    assert.deepEqual(config.auth?.htpasswd, { realm: 'Registry', path: '/env/htpasswd' });
    await assertConfigError(minimal, /^auth\.htpasswd\.realm: required$/, { REGISTRY_AUTH_HTPASSWD_PATH: '/env/htpasswd' });
  });

  test('an override that adds a second storage driver is an error', async () => {
    await assertConfigError(minimal, /^storage: exactly one storage driver may be configured, not inmemory and s3$/, {
      REGISTRY_STORAGE_S3_BUCKET: 'images',
      REGISTRY_STORAGE_S3_REGION: 'eu-west-1',
    });
  });

  test('a wrong override value is an error naming the key', async () => {
    await assertConfigError(minimal, /^storage\.delete\.enabled: must be true or false$/, { REGISTRY_STORAGE_DELETE_ENABLED: 'yes please' });
    await assertConfigError(minimal, /^log\.level: /, { REGISTRY_LOG_LEVEL: 'verbose' });
  });
});

describe('loadConfig: keys Distribution knows that Berth does not implement yet', () => {
  test('give one warning each and are not fatal', async () => {
    const file = await configFile(`${minimal}http:
  addr: 127.0.0.1:5000
  secret: asecretforlocaldevelopment
  tls:
    certificate: /certs/domain.crt
    key: /certs/domain.key
auth:
  htpasswd:
    realm: basic-realm
    path: /auth/htpasswd
notifications:
  endpoints:
    - name: alistener
      url: https://listener.example.com/event
`);
    const { config, warnings } = await loadConfig(file, {});
    assert.equal(config.http.addr, '127.0.0.1:5000');
    assert.deepEqual(config.http.tls, {
      certificate: '/certs/domain.crt',
      key: '/certs/domain.key',
      clientauth: 'require-and-verify-client-cert',
      minimumtls: 'tls1.2',
    });
    assert.deepEqual(config.auth, { htpasswd: { realm: 'basic-realm', path: '/auth/htpasswd' } });
    assert.deepEqual(warnings.sort(), [
      'http.secret: not implemented by this version of Berth; ignored',
    ]);
  });

  test('a section with some keys implemented: one warning for each key that is not', async () => {
    const file = await configFile(`version: 0.1
storage:
  filesystem:
    rootdirectory: /srv
    maxthreads: 50
  maintenance:
    uploadpurging:
      enabled: false
http:
  tls:
    certificate: /c
    key: /k
    letsencrypt:
      cachefile: /le
      email: a@example.com
  debug:
    addr: :5001
`);
    const { warnings } = await loadConfig(file, {});
    assert.deepEqual(warnings.sort(), [
      'http.tls.letsencrypt: not implemented by this version of Berth; ignored',
      'storage.filesystem.maxthreads: not implemented by this version of Berth; ignored',
    ]);
  });

  test('a storage driver Berth does not implement is an error, not a warning', async () => {
    await assertConfigError(
      'version: 0.1\nstorage:\n  gcs:\n    bucket: images\n',
      /^storage\.gcs: this storage driver is not implemented by this version of Berth$/,
    );
  });
});

describe('loadConfig: auth and access', () => {
  const token = `auth:
  token:
    realm: https://registry.example.com/auth/token
    service: registry.example.com
    issuer: berth
`;

  test('auth.token with Berth\'s token server: defaults, and the path taken from the realm', async () => {
    const file = await configFile(`${minimal}${token}  tokenserver:
    htpasswd: /etc/berth/htpasswd
    signingkey: /var/lib/berth/token.key
`);
    const { config, warnings } = await loadConfig(file, {});
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.auth, {
      token: {
        realm: 'https://registry.example.com/auth/token',
        service: 'registry.example.com',
        issuer: 'berth',
        autoredirect: false,
        autoredirectpath: '/auth/token/',
      },
      tokenserver: { path: '/auth/token', htpasswd: '/etc/berth/htpasswd', signingkey: '/var/lib/berth/token.key', expiration: 300_000 },
    });
  });

  test('with autoredirect, the token server answers on autoredirectpath', async () => {
    const file = await configFile(`${minimal}${token}    autoredirect: true
  tokenserver:
    htpasswd: /h
    signingkey: /k
    expiration: 1h
`);
    const { config } = await loadConfig(file, {});
    assert.equal(config.auth?.tokenserver?.path, '/auth/token/');
    assert.equal(config.auth?.tokenserver?.expiration, 3_600_000);
  });

  test('exactly one provider; tokenserver only with token; token needs keys to check tokens with', async () => {
    await assertConfigError(`${minimal}auth: {}\n`, /^auth: name one authentication provider \(htpasswd, token, silly, none\)$/);
    await assertConfigError(
      `${minimal}auth:\n  none:\n  htpasswd:\n    realm: r\n    path: /p\n`,
      /^auth: only one authentication provider may be configured, not htpasswd and none$/,
    );
    await assertConfigError(`${minimal}auth:\n  none:\n  tokenserver:\n    htpasswd: /h\n    signingkey: /k\n`, /^auth\.tokenserver: requires auth\.token/);
    await assertConfigError(`${minimal}${token}`, /^auth\.token\.rootcertbundle: required \(or auth\.token\.jwks/);
    await assertConfigError(
      `${minimal}auth:\n  token:\n    realm: /auth\n    service: s\n    issuer: i\n  tokenserver:\n    htpasswd: /h\n    signingkey: /k\n`,
      /^auth\.tokenserver\.path: required when auth\.token\.realm is not an absolute URL$/,
    );
    await assertConfigError(`${minimal}${token}    jwks: /j\n    signingalgorithms: [XX256]\n`, /^auth\.token\.signingalgorithms\.0: must be one of EdDSA/);
  });

  test('an empty auth section means no authentication', async () => {
    const { config } = await loadConfig(await configFile(`${minimal}auth:\n`), {});
    assert.equal(config.auth, undefined);
  });

  test('access: defaults, and errors naming the rule', async () => {
    const { config } = await loadConfig(await configFile(`${minimal}access:\n  rules:\n    - repository: "public/*"\n      anonymous: [pull]\n`), {});
    assert.deepEqual(config.access, {
      admins: [],
      groups: {},
      rules: [{ repository: 'public/*', anonymous: ['pull'], authenticated: [], users: {}, groups: {} }],
    });
    await assertConfigError(`${minimal}access:\n  rules:\n    - repository: a\n      users: {bob: [read]}\n`, /^access\.rules\.0\.users\.bob\.0: must be one of pull, push, delete, \*$/);
    await assertConfigError(`${minimal}access:\n  rules:\n    - repository: a\n      groups: {ops: [pull]}\n`, /^access\.rules\.0\.groups\.ops: no such group under access\.groups$/);
    await assertConfigError(`${minimal}access:\n  rules:\n    - anonymous: [pull]\n`, /^access\.rules\.0\.repository: required$/);
    await assertConfigError(`${minimal}access:\n  rules:\n    - repository: a\n      anonymus: [pull]\n`, /^access\.rules\.0\.anonymus: unknown configuration key$/);
  });
});

describe('loadConfig: errors name the key', () => {
  test('an unknown key, at any depth', async () => {
    await assertConfigError(`${minimal}bogus: 1\n`, /^bogus: unknown configuration key$/);
    await assertConfigError(`${minimal}http:\n  port: 5000\n`, /^http\.port: unknown configuration key$/);
    await assertConfigError(
      'version: 0.1\nstorage:\n  filesystem:\n    rootdir: /x\n',
      /^storage\.filesystem\.rootdir: unknown configuration key$/,
    );
    await assertConfigError(`${minimal}log:\n  accesslog:\n    enabled: true\n`, /^log\.accesslog\.enabled: unknown configuration key$/);
  });

  test('an unknown key inside a section with no keys of its own', async () => {
    await assertConfigError('version: 0.1\nstorage:\n  inmemory:\n    size: 10\n', /^storage\.inmemory\.size: unknown configuration key$/);
  });

  test('an unknown key is reported before the errors it may cause', async () => {
    await assertConfigError(`${minimal}auth:\n  htpasswd:\n    realm: r\n    pth: /p\n`, /^auth\.htpasswd\.pth: unknown configuration key$/);
  });

  test('an unknown key inside a list or a section Berth does not implement', async () => {
    await assertConfigError(`${minimal}notifications:\n  endpoints:\n    - name: a\n      url: https://x\n      retries: 3\n`, /^notifications\.endpoints\.0\.retries: unknown configuration key$/);
    await assertConfigError(`${minimal}redis:\n  pool:\n    size: 3\n`, /^redis\.pool\.size: unknown configuration key$/);
  });

  test('a value of the wrong type', async () => {
    await assertConfigError('version: 0.1\nstorage:\n  inmemory:\n  delete:\n    enabled: sometimes\n', /^storage\.delete\.enabled: must be true or false$/);
    await assertConfigError(`${minimal}log:\n  level: verbose\n`, /^log\.level: /);
    await assertConfigError(`${minimal}http:\n  addr: [1, 2]\n`, /^http\.addr: must be a string$/);
    await assertConfigError(`${minimal}http:\n  host: registry.example.com\n`, /^http\.host: must be an absolute URL/);
    await assertConfigError(`${minimal}http: 5000\n`, /^http: .*expected object/);
    await assertConfigError('version: 0.1\nstorage: [filesystem]\n', /^storage: .*expected object/);
    await assertConfigError(`${minimal}http:\n  draintimeout: 5 minutes\n`, /^http\.draintimeout: must be a duration such as 300ms, 5m or 1h30m/);
    await assertConfigError(`${minimal}http:\n  net: udp\n`, /^http\.net: must be tcp or unix$/);
    await assertConfigError(`${minimal}http:\n  relativeurls: 1\n`, /^http\.relativeurls: must be true or false$/);
    await assertConfigError(`${minimal}http:\n  prefix: registry\n`, /^http\.prefix: must be a path starting with \/$/);
    await assertConfigError(`${minimal}http:\n  headers:\n    X-A: [a, [b]]\n`, /^http\.headers\.X-A\.1: must be a string$/);
    await assertConfigError(`${minimal}http:\n  tls:\n    certificate: /c\n    key: /k\n    clientcas: /ca\n`, /^http\.tls\.clientcas: must be a list of strings$/);
    await assertConfigError(`${minimal}http:\n  tls:\n    certificate: /c\n    key: /k\n    clientauth: sometimes\n`, /^http\.tls\.clientauth: must be one of request-client-cert/);
    await assertConfigError(`${minimal}http:\n  tls:\n    certificate: /c\n    key: /k\n    minimumtls: ssl3\n`, /^http\.tls\.minimumtls: must be one of tls1\.0, tls1\.1, tls1\.2, tls1\.3$/);
    await assertConfigError(`${minimal}catalog:\n  maxentries: 1.5\n`, /^catalog\.maxentries: must be an integer$/);
    await assertConfigError(`${minimal}health:\n  storagedriver:\n    interval: soon\n`, /^health\.storagedriver\.interval: must be a duration/);
    await assertConfigError('version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: [a]\n', /^storage\.filesystem\.rootdirectory: must be a string$/);
  });

  test('a missing or bad version', async () => {
    await assertConfigError('storage:\n  inmemory:\n', /^version: required$/);
    await assertConfigError('version: 0.2\nstorage:\n  inmemory:\n', /^version: must be 0\.1$/);
    await assertConfigError('version: 1\nstorage:\n  inmemory:\n', /^version: must be 0\.1$/);
  });

  test('no storage driver, or two', async () => {
    await assertConfigError('version: 0.1\n', /^storage: required$/);
    await assertConfigError('version: 0.1\nstorage:\n  delete:\n    enabled: true\n', /^storage: a storage driver is required/);
    await assertConfigError(
      'version: 0.1\nstorage:\n  inmemory:\n  filesystem:\n    rootdirectory: /x\n',
      /^storage: exactly one storage driver may be configured, not filesystem and inmemory$/,
    );
    await assertConfigError(minimal, /^storage: exactly one storage driver/, { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/x' });
  });

  test('missing required values of any section', async () => {
    await assertConfigError('version: 0.1\nstorage:\n  s3:\n    bucket: images\n', /^storage\.s3\.region: required$/);
    await assertConfigError(`${minimal}http:\n  tls:\n    certificate: /c\n`, /^http\.tls\.key: required with http\.tls\.certificate$/);
    await assertConfigError(`${minimal}proxy:\n  username: u\n`, /^proxy\.remoteurl: required$/);
    await assertConfigError(`${minimal}auth:\n  tokenserver:\n    htpasswd: /h\n`, /^auth\.tokenserver\.signingkey: required$/);
  });
});

describe('loadConfig: the file itself', () => {
  test('a missing file', async () => {
    const missing = join(directory, 'missing.yml');
    await assert.rejects(
      () => loadConfig(missing, {}),
      (error: unknown) => error instanceof ConfigError && error.message.startsWith(`cannot read config file ${missing}`),
    );
  });

  test('YAML that does not parse, or is not a mapping', async () => {
    await assertConfigError('version: [\n', /is not valid YAML/);
    await assertConfigError('- version\n- storage\n', /must be a YAML mapping/);
    await assertConfigError('just text\n', /must be a YAML mapping/);
  });

  test('an empty file is missing its version', async () => {
    await assertConfigError('', /^version: required$/);
  });
});
