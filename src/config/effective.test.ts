import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { configJsonSchema, effectiveConfigYaml, maskedValue } from './effective.js';
import { parseConfig } from './load.js';
import { configSchema } from './schema.js';

const everyKey = await readFile(new URL('testdata/every-key.yml', import.meta.url), 'utf8');

/** The secret values written in testdata/every-key.yml. */
const secrets = [
  'hook-mail-password',
  'bugsnag-api-key-value',
  'newrelic-license-value',
  'http-secret-value',
  'audit-sink-token',
  'redis-password-value',
  'sentinel-password-value',
  'aGVhbHRoOmNoZWNr',
  'proxy-password-value',
  'sync-source-password-value',
  'sync-destination-password-value',
];

describe('effectiveConfigYaml', () => {
  test('secrets are masked; file paths that lead to secrets are not', () => {
    const yaml = effectiveConfigYaml(parseConfig(everyKey, {}).config);
    for (const secret of secrets) assert.ok(!yaml.includes(secret), `${secret} is masked`);
    const printed = parseYaml(yaml);
    assert.equal(printed.http.secret, maskedValue);
    assert.equal(printed.redis.password, maskedValue);
    assert.deepEqual(printed.notifications.endpoints[0].headers, { Authorization: maskedValue });
    assert.equal(printed.http.tls.key, '/etc/berth/tls/server.key');
    assert.equal(printed.auth.tokenserver.signingkey, '/var/lib/berth/token-signing.pem');
    assert.equal(printed.middleware.storage[0].options.privatekey, '/etc/berth/cloudfront.pem');
    assert.equal(printed.proxy.username, 'puller');
  });

  test('the secrets of every storage driver are masked', () => {
    const drivers = {
      s3: { region: 'r', bucket: 'b', secretkey: 'S1' },
      azure: { container: 'c', accountkey: 'S2', connectionstring: 'S3', credentials: { type: 'client_secret', secret: 'S4' } },
      gcs: { bucket: 'b', credentials: { private_key: 'S5', private_key_id: 'S6', client_email: 'shown@x' } },
      swift: { username: 'u', password: 'S7', authurl: 'https://k', container: 'c', secretkey: 'S8' },
      oss: { accesskeyid: 'id', accesskeysecret: 'S9', region: 'r', bucket: 'b' },
    };
    for (const [driver, options] of Object.entries(drivers)) {
      const config = configSchema.parse({ version: '0.1', storage: { [driver]: options } });
      const yaml = effectiveConfigYaml(config);
      assert.ok(!/S\d/.test(yaml), `${driver}:\n${yaml}`);
      assert.ok(yaml.includes(maskedValue));
    }
  });

  test('defaults are filled in, durations printed in Go syntax, and the output loads again to the same configuration', () => {
    const { config } = parseConfig(everyKey, {});
    const yaml = effectiveConfigYaml(config);
    assert.match(yaml, /^ {2}draintimeout: 45s$/m);
    assert.match(yaml, /^ {4}idletimeout: 4m$/m);
    const minimal = parseConfig('version: 0.1\nstorage:\n  inmemory:\n', {}).config;
    const { storage: printedStorage, ...printed } = parseYaml(effectiveConfigYaml(minimal));
    const { maintenance, ...storage } = printedStorage;
    assert.deepEqual(storage, { inmemory: {}, delete: { enabled: false } });
    assert.deepEqual(maintenance.uploadpurging, { enabled: true, age: '168h', interval: '24h', dryrun: false });
    assert.deepEqual(maintenance.readonly, { enabled: false });
    assert.deepEqual(printed, {
      version: '0.1',
      log: { level: 'info', accesslog: { disabled: false } },
      http: { addr: ':5000', net: 'tcp', relativeurls: false, draintimeout: '0s', headers: {}, http2: { disabled: false }, h2c: { enabled: false },
        timeouts: { header: '30s', idle: '1m', minrate: 1024, minrategrace: '10s', request: '0s' }, maxconnections: 0 },
      catalog: { maxentries: 1000 },
      tags: { maxtags: 10000 },
      ui: { enabled: true },
      limits: { manifestsize: 4194304, manifestdepth: 64, headersize: 65536, pathlength: 8192, tags: 0, uploadsize: 0 },
    });
    assert.deepEqual(parseConfig(effectiveConfigYaml(minimal), {}).config, minimal);
  });
});

describe('configJsonSchema', () => {
  test('describes the input side: durations as text or integers, null for empty sections, no unknown keys', () => {
    const schema = configJsonSchema() as {
      $schema: string;
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, Record<string, unknown>>;
    };
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.deepEqual(schema.required, ['version', 'storage']);
    assert.equal(schema.additionalProperties, false);
    const http = (schema.properties.http!.anyOf as Record<string, Record<string, Record<string, unknown>>>[])[0]!;
    assert.deepEqual(http.properties!.draintimeout, { default: 0, type: ['string', 'number'] });
    assert.deepEqual((http.properties!.net as { enum: string[] }).enum, ['tcp', 'unix']);
    assert.ok(JSON.stringify(schema.properties.access).includes('"enum":["pull","push","delete","*"]'));
    assert.ok(JSON.stringify(schema.properties.storage).includes('{"type":"null"}'));
  });
});
