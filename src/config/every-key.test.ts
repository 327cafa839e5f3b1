import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { parse as parseConfigYaml } from 'yaml';
import { parseConfig } from './load.js';
import { configSchema, implementedKeys, schemaAt } from './schema.js';

/**
 * The whole format: testdata/every-key.yml sets every key of Distribution's configuration
 * reference (2.8 and 3.x) and Berth's extensions. Drivers and providers, of which a file may
 * name only one, are tried one at a time below.
 */
const everyKey = await readFile(new URL('testdata/every-key.yml', import.meta.url), 'utf8');

describe('the whole configuration format', () => {
  test('every key loads; the keys Berth does not implement get exactly one warning each', () => {
    const { config, warnings } = parseConfig(everyKey, {});
    assert.deepEqual(
      warnings.map((w) => w.replace(/: not implemented by this version of Berth; ignored$/, '')).sort(),
      [
        'compatibility',
        'http.secret',
        'http.tls.ciphersuites',
        'http.tls.letsencrypt',
        'log.hooks',
        'log.reportcaller',
        'loglevel',
        'middleware',
        'notifications.events',
        'policy',
        'proxy.cachewritetimeout',
        'proxy.exec',
        'redis.connmaxidletime',
        'redis.connmaxlifetime',
        'redis.contexttimeoutenabled',
        'redis.disableidentity',
        'redis.identitysuffix',
        'redis.maxactiveconns',
        'redis.maxidleconns',
        'redis.maxredirects',
        'redis.maxretries',
        'redis.maxretrybackoff',
        'redis.minidleconns',
        'redis.minretrybackoff',
        'redis.pool',
        'redis.poolfifo',
        'redis.poolsize',
        'redis.pooltimeout',
        'redis.protocol',
        'redis.readonly',
        'redis.routebylatency',
        'redis.routerandomly',
        'redis.unstableresp3',
        'reporting',
        'storage.filesystem.maxthreads',
        'storage.tag',
        'validation',
      ],
    );
    assert.ok(warnings.every((w) => w.endsWith(': not implemented by this version of Berth; ignored')));
    // The implemented keys, typed as the rest of Berth reads them.
    assert.deepEqual(config.http, {
      addr: '127.0.0.1:5443',
      net: 'tcp',
      prefix: '/registry/',
      host: 'https://registry.lab.test',
      secret: 'http-secret-value',
      relativeurls: true,
      draintimeout: 45_000,
      tls: {
        certificate: '/etc/berth/tls/server.crt',
        key: '/etc/berth/tls/server.key',
        clientcas: ['/etc/berth/tls/clients-a.pem', '/etc/berth/tls/clients-b.pem'],
        clientauth: 'verify-client-cert-if-given',
        minimumtls: 'tls1.3',
        ciphersuites: ['TLS_AES_128_GCM_SHA256'],
        letsencrypt: {
          cachefile: '/var/lib/berth/acme.cache',
          email: 'certs@lab.test',
          hosts: ['registry.lab.test'],
          directoryurl: 'https://acme.lab.test/directory',
        },
      },
      debug: { addr: '127.0.0.1:5001', prometheus: { enabled: true, path: '/metrics' } },
      headers: { 'X-Content-Type-Options': ['nosniff'], 'Strict-Transport-Security': ['max-age=31536000'] },
      http2: { disabled: true },
      h2c: { enabled: false },
      workers: 4,
      timeouts: { header: 20_000, idle: 90_000, minrate: 2048, minrategrace: 15_000, request: 3_600_000 },
      maxconnections: 5000,
    });
    assert.deepEqual(config.auth, {
      token: {
        realm: 'https://registry.lab.test/auth/token',
        service: 'registry.lab.test',
        issuer: 'berth-lab',
        rootcertbundle: '/etc/berth/token-ca.pem',
        jwks: '/etc/berth/token-keys.json',
        signingalgorithms: ['ES256', 'RS256'],
        autoredirect: false,
        autoredirectpath: '/auth/token/',
      },
      tokenserver: { path: '/auth/token', htpasswd: '/etc/berth/users.htpasswd', signingkey: '/var/lib/berth/token-signing.pem', expiration: 600_000 },
    });
    assert.deepEqual(config.access?.rules[1], { repository: '**', anonymous: [], authenticated: ['*'], users: {}, groups: {} });
    assert.equal(config.log.level, 'debug');
    assert.deepEqual(config.storage.filesystem, { rootdirectory: '/srv/berth-data', maxthreads: 64 });
    // Keys not implemented are still typed: durations in milliseconds, both redis spellings.
    assert.equal(config.redis?.pool?.idletimeout, 240_000);
    assert.equal(config.redis?.connmaxidletime, 300_000);
    assert.equal(config.redis?.addr, 'redis.lab.test:6379');
    assert.deepEqual(config.redis?.addrs, ['redis-a.lab.test:6379', 'redis-b.lab.test:6379']);
    assert.equal(config.proxy?.ttl, 96 * 3_600_000);
    assert.equal(config.validation?.manifests?.indexes?.platforms, 'list');
    assert.equal(config.storage.maintenance?.uploadpurging?.age, 72 * 3_600_000);
    assert.deepEqual(config.limits, { manifestsize: 1048576, manifestdepth: 32, headersize: 32768, pathlength: 4096, tags: 5000, uploadsize: 10737418240 });
    assert.equal(config.catalog.maxentries, 500);
    assert.equal(config.tags.maxtags, 200);
    assert.equal(config.ui.enabled, false);
  });

  const drivers: Record<string, string> = {
    s3: `  s3:
    accesskey: AKIDEXAMPLE
    secretkey: s3-secret-value
    region: eu-central-1
    regionendpoint: https://objects.lab.test
    redirectendpoint: https://cdn-objects.lab.test
    forcepathstyle: true
    accelerate: false
    bucket: lab-images
    encrypt: true
    keyid: kms-key-1
    secure: true
    skipverify: false
    v4auth: true
    chunksize: 10485760
    multipartcopychunksize: 33554432
    multipartcopymaxconcurrency: 50
    multipartcopythresholdsize: 33554432
    rootdirectory: /images
    storageclass: STANDARD_IA
    useragent: berth-lab
    usedualstack: false
    usefipsendpoint: false
    objectacl: private
    loglevel: "off"
`,
    azure: `  azure:
    accountname: labaccount
    accountkey: azure-account-key-value
    container: images
    realm: core.windows.net
    rootdirectory: /images
    serviceurl: https://labaccount.blob.core.windows.net
    connectionstring: DefaultEndpointsProtocol=https;AccountName=labaccount;AccountKey=abc
    credentials:
      type: client_secret
      clientid: client-1
      tenantid: tenant-1
      secret: azure-client-secret
    max_retries: 3
    retry_delay: 250ms
    skipverify: false
`,
    gcs: `  gcs:
    bucket: lab-images
    keyfile: /etc/berth/gcs.json
    credentials:
      type: service_account
      project_id: lab
      private_key_id: "0001"
      private_key: gcs-private-key-value
      client_email: berth@lab.test
      client_id: "42"
      auth_uri: https://auth.lab.test
      token_uri: https://token.lab.test
      auth_provider_x509_cert_url: https://certs.lab.test
      client_x509_cert_url: https://certs.lab.test/berth
    rootdirectory: /images
    chunksize: 5242880
    maxconcurrency: 8
    useragent: berth-lab
`,
    swift: `  swift:
    username: swiftuser
    password: swift-password-value
    authurl: https://keystone.lab.test/v3
    tenant: lab
    tenantid: t-1
    domain: default
    domainid: d-1
    tenantdomain: default
    tenantdomainid: td-1
    trustid: trust-1
    region: region-a
    authversion: 3
    container: images
    prefix: /images
    rootdirectory: /images
    endpointtype: public
    insecureskipverify: false
    chunksize: 5242880
    secretkey: swift-tempurl-key
    accesskey: swift-access
    tempurlcontainerkey: true
    tempurlmethods: [GET, HEAD]
`,
    oss: `  oss:
    accesskeyid: oss-id
    accesskeysecret: oss-secret-value
    region: oss-cn-hangzhou
    endpoint: oss.lab.test
    internal: false
    bucket: lab-images
    encrypt: true
    secure: true
    chunksize: 10485760
    rootdirectory: /images
`,
  };

  test('storage.azure: every key is read; the keys Berth does not implement get one warning each', () => {
    const { config, warnings } = parseConfig(`version: 0.1\nstorage:\n${drivers.azure}`, {});
    assert.deepEqual(
      warnings.map((w) => w.replace(/: not implemented by this version of Berth; ignored$/, '')).sort(),
      ['storage.azure.credentials.clientid', 'storage.azure.credentials.secret', 'storage.azure.credentials.tenantid', 'storage.azure.skipverify'],
    );
    assert.equal(config.storage.azure?.container, 'images');
    assert.equal(config.storage.azure?.retry_delay, 250);
  });

  test('storage.s3: every key is read; the keys Berth does not implement get one warning each', () => {
    const { config, warnings } = parseConfig(`version: 0.1\nstorage:\n${drivers.s3}`, {});
    assert.deepEqual(
      warnings.map((w) => w.replace(/: not implemented by this version of Berth; ignored$/, '')).sort(),
      ['storage.s3.loglevel', 'storage.s3.redirectendpoint'],
    );
    assert.equal(config.storage.s3?.bucket, 'lab-images');
    assert.equal(config.storage.s3?.multipartcopythresholdsize, 33_554_432);
  });

  /** Drivers with an implementation of their own, tested above or in their own file. */
  const implementedDrivers = new Set(['azure', 's3']);
  for (const [driver, yaml] of Object.entries(drivers).filter(([name]) => !implementedDrivers.has(name))) {
    test(`storage.${driver}: every key is read; the driver itself is refused as not implemented`, () => {
      const text = `version: 0.1\nstorage:\n${yaml}`;
      assert.throws(() => parseConfig(text, {}), { message: `storage.${driver}: this storage driver is not implemented by this version of Berth` });
      // The schema itself accepts the section, with every key.
      const parsed = configSchema.parse({ version: '0.1', storage: { [driver]: (parseConfigYaml(text).storage as Record<string, unknown>)[driver] } });
      assert.ok((parsed.storage as Record<string, unknown>)[driver]);
    });
  }

  test('the other auth providers: auth.htpasswd, auth.silly and auth.none', () => {
    const base = 'version: 0.1\nstorage:\n  inmemory:\n';
    const load = (auth: string) => parseConfig(`${base}auth:\n${auth}`, {});
    assert.deepEqual(load('  htpasswd:\n    realm: Lab\n    path: /etc/berth/htpasswd\n').config.auth, {
      htpasswd: { realm: 'Lab', path: '/etc/berth/htpasswd' },
    });
    assert.deepEqual(load('  silly:\n    realm: Lab\n    service: lab\n').config.auth, { silly: { realm: 'Lab', service: 'lab' } });
    assert.deepEqual(load('  none:\n').config.auth, { none: {} });
    for (const auth of ['  htpasswd:\n    realm: Lab\n    path: /p\n', '  silly:\n    realm: Lab\n    service: lab\n', '  none:\n']) {
      assert.deepEqual(load(auth).warnings, []);
    }
  });

  test('every implemented key is a key of the schema', () => {
    for (const key of implementedKeys) assert.ok(schemaAt(key.split('.')), key);
    assert.equal(schemaAt(['http', 'nosuchkey']), undefined);
  });
});

describe('README.md', () => {
  test('the YAML examples under "## Configuration" load without errors', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.split(/^## /m).find((part) => part.startsWith('Configuration\n'));
    assert.ok(section, 'README.md has a "## Configuration" section');
    const examples = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
    assert.ok(examples.length >= 2, 'the Configuration section has the basic example and the extensions');
    // The first example is a whole file, with only implemented keys.
    assert.deepEqual(parseConfig(examples[0]!, {}).warnings, []);
    // The others show sections: they load on top of a minimal file.
    for (const example of examples.slice(1)) {
      assert.deepEqual(parseConfig(`version: 0.1\nstorage:\n  inmemory:\n${example}`, {}).warnings, []);
    }
  });
});
