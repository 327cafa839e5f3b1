import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../config/load.js';
import { parseListenAddress } from './serve.js';

describe('parseListenAddress', () => {
  test('host:port, :port and [ipv6]:port, as Distribution writes http.addr', () => {
    assert.deepEqual(parseListenAddress(':5000'), { host: undefined, port: 5000 });
    assert.deepEqual(parseListenAddress('0.0.0.0:5000'), { host: '0.0.0.0', port: 5000 });
    assert.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListenAddress('localhost:8080'), { host: 'localhost', port: 8080 });
    assert.deepEqual(parseListenAddress('registry.internal:443'), { host: 'registry.internal', port: 443 });
    assert.deepEqual(parseListenAddress('[::1]:5000'), { host: '::1', port: 5000 });
    assert.deepEqual(parseListenAddress('[::]:65535'), { host: '::', port: 65535 });
  });

  test('anything else is a ConfigError naming http.addr', () => {
    for (const addr of ['', '5000', ':', 'host:', 'host:port', ':50a0', '::1:5000', '[::1]', '[::1]5000', 'a:b:5000', ':-1', ':65536', ':99999', ':5000 ']) {
      assert.throws(
        () => parseListenAddress(addr),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, `${JSON.stringify(addr)}: expected ConfigError, got ${String(error)}`);
          assert.match(error.message, /^http\.addr: /);
          return true;
        },
        addr,
      );
    }
  });
});
