import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { effectiveConfigYaml } from '../effective.js';
import { ConfigError, parseConfig } from '../load.js';

const base = `version: 0.1
storage:
  inmemory:
`;

function configError(yaml: string, message: RegExp): void {
  assert.throws(() => parseConfig(`${base}${yaml}`, {}), (e: Error) => e instanceof ConfigError && message.test(e.message), message.source);
}

describe('proxy', () => {
  test("Distribution's form: remoteurl, credentials, ttl; Berth's defaults for tagttl; no warnings", () => {
    const { config, warnings } = parseConfig(`${base}proxy:\n  remoteurl: https://registry-1.docker.io\n  username: u\n  password: p\n`, {});
    assert.deepEqual(config.proxy, { remoteurl: 'https://registry-1.docker.io', username: 'u', password: 'p', ttl: 168 * 3_600_000, tagttl: 60_000 });
    assert.deepEqual(warnings, []);
  });

  test("Berth's upstreams: one per prefix, each with its own credentials and TTLs; maxsize in units", () => {
    const yaml = `proxy:
  tagttl: 30s
  ttl: 0
  maxsize: 10GiB
  upstreams:
    - prefix: hub/
      remoteurl: https://docker.io
      username: puller
      password: secret
    - prefix: mirrors/ghcr/
      remoteurl: http://127.0.0.1:5001
      tagttl: 5m
      cafile: /etc/berth/ca.pem
`;
    const { config, warnings } = parseConfig(`${base}${yaml}`, {});
    assert.deepEqual(warnings, []);
    assert.equal(config.proxy?.maxsize, 10 * 1024 ** 3);
    assert.equal(config.proxy?.ttl, 0);
    assert.deepEqual(config.proxy?.upstreams, [
      { prefix: 'hub/', remoteurl: 'https://docker.io', username: 'puller', password: 'secret' },
      { prefix: 'mirrors/ghcr/', remoteurl: 'http://127.0.0.1:5001', tagttl: 300_000, cafile: '/etc/berth/ca.pem' },
    ]);
    // Each upstream's password is a secret when the effective configuration is printed.
    const printed = effectiveConfigYaml(config);
    assert.ok(!printed.includes('secret'), printed);
    assert.ok(printed.includes('puller'));
  });

  test('remoteurl and upstreams are exclusive; one of them is required', () => {
    configError('proxy:\n  remoteurl: http://a:1\n  upstreams:\n    - prefix: hub/\n      remoteurl: http://b:2\n', /^proxy\.upstreams: cannot be set together with proxy\.remoteurl/);
    configError('proxy:\n  tagttl: 1m\n', /^proxy\.remoteurl: required$/);
    configError('proxy:\n  upstreams: []\n', /^proxy\.upstreams: must name at least one upstream$/);
  });

  test('bad values name their key', () => {
    configError('proxy:\n  remoteurl: ftp://a\n', /^proxy\.remoteurl: must be an http:\/\/ or https:\/\/ URL$/);
    configError('proxy:\n  remoteurl: https://a/v2/\n', /^proxy\.remoteurl: must name only the registry/);
    configError('proxy:\n  remoteurl: http://a\n  maxsize: lots\n', /^proxy\.maxsize: must be a size/);
    configError('proxy:\n  upstreams:\n    - prefix: hub\n      remoteurl: http://a\n', /^proxy\.upstreams\.0\.prefix: must be repository name components ending with \//);
    configError(
      'proxy:\n  upstreams:\n    - prefix: hub/\n      remoteurl: http://a\n    - prefix: hub/\n      remoteurl: http://b\n',
      /^proxy\.upstreams\.1\.prefix: hub\/ is the prefix of an earlier upstream$/,
    );
  });
});
