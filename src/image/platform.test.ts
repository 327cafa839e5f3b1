import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Descriptor, Platform } from './descriptor.js';
import { currentPlatform, formatPlatform, matchPlatform, parsePlatform } from './platform.js';

function entry(name: string, platform: Platform): Descriptor {
  return { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${name}`, size: 1, platform };
}

describe('parsePlatform', () => {
  test('reads os/arch[/variant], filling the implied arm64 variant', () => {
    assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.deepEqual(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
    assert.equal(formatPlatform(parsePlatform('linux/arm/v6')), 'linux/arm/v6');
  });

  test('refuses anything else', () => {
    for (const bad of ['', 'linux', 'linux/', 'a/b/c/d', 'linux/amd 64']) assert.throws(() => parsePlatform(bad), TypeError, bad);
  });
});

test('currentPlatform names this machine as an image platform', () => {
  const platform = currentPlatform();
  assert.equal(platform.os, 'linux');
  const expected: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
  if (expected[process.arch]) assert.equal(platform.architecture, expected[process.arch]);
});

describe('matchPlatform', () => {
  const index = [
    entry('attest', { os: 'unknown', architecture: 'unknown' }),
    entry('amd64', { os: 'linux', architecture: 'amd64' }),
    entry('armv6', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    entry('armv7', { os: 'linux', architecture: 'arm', variant: 'v7' }),
    entry('arm64', { os: 'linux', architecture: 'arm64' }),
    entry('windows', { os: 'windows', architecture: 'amd64', 'os.version': '10.0' }),
  ];

  test('picks the exact platform and never an attestation manifest', () => {
    assert.equal(matchPlatform(index, parsePlatform('linux/amd64'))?.digest, 'sha256:amd64');
    assert.equal(matchPlatform(index, parsePlatform('windows/amd64'))?.digest, 'sha256:windows');
    assert.equal(matchPlatform(index, { os: 'unknown', architecture: 'unknown' }), undefined);
    assert.equal(matchPlatform(index, parsePlatform('linux/s390x')), undefined);
  });

  test('applies the variant rules: arm64 is arm64/v8, an exact variant wins, a missing one matches', () => {
    assert.equal(matchPlatform(index, parsePlatform('linux/arm64/v8'))?.digest, 'sha256:arm64');
    assert.equal(matchPlatform(index, parsePlatform('linux/arm64'))?.digest, 'sha256:arm64');
    assert.equal(matchPlatform(index, parsePlatform('linux/arm/v7'))?.digest, 'sha256:armv7');
    assert.equal(matchPlatform(index, parsePlatform('linux/arm'))?.digest, 'sha256:armv6', 'no variant wanted: the first arm entry');
    assert.equal(matchPlatform(index, parsePlatform('linux/arm/v5')), undefined);
    const noVariant = [entry('arm', { os: 'linux', architecture: 'arm' }), entry('armv7', { os: 'linux', architecture: 'arm', variant: 'v7' })];
    assert.equal(matchPlatform(noVariant, parsePlatform('linux/arm/v7'))?.digest, 'sha256:armv7');
    assert.equal(matchPlatform(noVariant, parsePlatform('linux/arm/v6'))?.digest, 'sha256:arm');
  });
});
