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
    assert.deepEqual(warnings.sort(), [
      'health: not implemented by this version of Berth; ignored',
      'http.headers: not implemented by this version of Berth; ignored',
      'log.fields: not implemented by this version of Berth; ignored',
      'storage.cache: not implemented by this version of Berth; ignored',
    ]);
  });

  test('defaults fill what the file leaves out', async () => {
    const { config, warnings } = await loadConfig(await configFile(minimal), {});
    assert.deepEqual(warnings, []);
    assert.equal(config.storage.inmemory, null);
    assert.equal(config.storage.filesystem, undefined);
    assert.equal(config.storage.delete.enabled, false);
    assert.equal(config.http.addr, ':5000');
    assert.equal(config.log.level, 'info');
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
    const { warnings } = await loadConfig(await configFile(minimal), {
      REGISTRY_HTTP_SECRET: 'a secret',
      REGISTRY_STORAGE_S3_BUCKET: 'images',
      REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd',
    });
    assert.deepEqual(warnings.sort(), [
      'auth: not implemented by this version of Berth; ignored',
      'http.secret: not implemented by this version of Berth; ignored',
      'storage.s3: not implemented by this version of Berth; ignored',
    ]);
    assert.ok(!warnings.join('\n').includes('a secret'), 'values never appear in warnings');
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
    assert.deepEqual(warnings.sort(), [
      'auth: not implemented by this version of Berth; ignored',
      'http.secret: not implemented by this version of Berth; ignored',
      'http.tls: not implemented by this version of Berth; ignored',
      'notifications: not implemented by this version of Berth; ignored',
    ]);
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
    await assertConfigError('version: 0.1\nstorage:\n  inmemory:\n    size: 10\n', /^storage\.inmemory: .*size/);
  });

  test('a value of the wrong type', async () => {
    await assertConfigError('version: 0.1\nstorage:\n  inmemory:\n  delete:\n    enabled: sometimes\n', /^storage\.delete\.enabled: must be true or false$/);
    await assertConfigError(`${minimal}log:\n  level: verbose\n`, /^log\.level: /);
    await assertConfigError(`${minimal}http:\n  addr: [1, 2]\n`, /^http\.addr: must be a string$/);
    await assertConfigError(`${minimal}http:\n  host: registry.example.com\n`, /^http\.host: must be an absolute URL/);
    await assertConfigError(`${minimal}http: 5000\n`, /^http: .*expected object/);
    await assertConfigError('version: 0.1\nstorage: filesystem\n', /^storage: .*expected object/);
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

  test('a storage driver Berth does not implement yet leaves no driver', async () => {
    await assertConfigError('version: 0.1\nstorage:\n  s3:\n    bucket: images\n', /^storage: a storage driver is required/);
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
