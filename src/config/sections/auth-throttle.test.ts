import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../load.js';
import { throttleDefaults } from './auth.js';

const base = `version: 0.1
storage:
  inmemory:
auth:
  htpasswd:
    realm: r
    path: /etc/berth/htpasswd
`;

describe('auth.throttle', () => {
  test('defaults: on, 10 failures per user name and 100 per address in 1 minute', () => {
    assert.deepEqual(throttleDefaults, { enabled: true, attempts: 10, addressattempts: 100, window: 60_000 });
    const { config, warnings } = parseConfig(base, {});
    assert.equal(config.auth?.throttle, undefined, 'left out, the defaults apply (createAccessController)');
    assert.deepEqual(warnings, []);
  });

  test('each key is read, and is implemented (no warning); REGISTRY_ overrides work', () => {
    const { config, warnings } = parseConfig(`${base}  throttle:\n    attempts: 5\n    window: 30s\n`, { REGISTRY_AUTH_THROTTLE_ADDRESSATTEMPTS: '20' });
    assert.deepEqual(config.auth?.throttle, { enabled: true, attempts: 5, addressattempts: 20, window: 30_000 });
    assert.deepEqual(warnings, []);
    assert.equal(parseConfig(`${base}  throttle:\n    enabled: false\n`, {}).config.auth?.throttle?.enabled, false);
  });

  test('limits must be 1 or more and the window longer than 0', () => {
    assert.throws(() => parseConfig(`${base}  throttle:\n    attempts: 0\n`, {}), (e: Error) => e instanceof ConfigError && /auth\.throttle\.attempts: must be 1 or more/.test(e.message));
    assert.throws(() => parseConfig(`${base}  throttle:\n    window: 0s\n`, {}), (e: Error) => e instanceof ConfigError && /auth\.throttle\.window: must be longer than 0/.test(e.message));
  });
});
