import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { normalizePrefix, requestOrigin, urlBuilder, type OriginSource } from './urls.js';

const request = (headers: IncomingHttpHeaders, encrypted = false): OriginSource =>
  ({ headers, socket: { encrypted } }) as unknown as OriginSource;

describe('requestOrigin', () => {
  test('the connection and Host header, or :authority over HTTP/2', () => {
    assert.equal(requestOrigin(request({ host: 'reg.example.com:5000' })), 'http://reg.example.com:5000');
    assert.equal(requestOrigin(request({ host: 'reg.example.com' }, true)), 'https://reg.example.com');
    assert.equal(requestOrigin(request({ ':authority': '[::1]:5000' }, true)), 'https://[::1]:5000');
    assert.equal(requestOrigin(request({})), undefined);
  });

  test('X-Forwarded-Proto and X-Forwarded-Host, first value of each', () => {
    const req = request({ host: 'backend:5000', 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'reg.example.com, proxy2' });
    assert.equal(requestOrigin(req), 'https://reg.example.com');
    assert.equal(requestOrigin(request({ host: 'backend:5000', 'x-forwarded-proto': 'HTTPS' })), 'https://backend:5000');
  });

  test('Forwarded (RFC 7239) wins over X-Forwarded-*, first element, quoted values', () => {
    const req = request({
      host: 'backend:5000',
      forwarded: 'for=192.0.2.60;proto=https;host="reg.example.com:8443", for=10.0.0.1;proto=http;host=inner',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'ignored.example.com',
    });
    assert.equal(requestOrigin(req), 'https://reg.example.com:8443');
    assert.equal(requestOrigin(request({ host: 'backend', forwarded: 'for="[2001:db8::1]";proto=https' })), 'https://backend');
  });

  test('values that are not a scheme or a host are ignored, not echoed', () => {
    const req = request({ host: 'backend:5000', 'x-forwarded-proto': 'javascript', 'x-forwarded-host': 'evil.example.com/path?x' });
    assert.equal(requestOrigin(req), 'http://backend:5000');
    assert.equal(requestOrigin(request({ host: 'a b' })), undefined);
  });

  test('forwarded headers can be ignored', () => {
    const req = request({ host: 'backend:5000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'reg.example.com' });
    assert.equal(requestOrigin(req, { trustForwarded: false }), 'http://backend:5000');
  });
});

describe('urlBuilder', () => {
  const req = request({ host: 'backend:5000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'reg.example.com' });

  test('absolute on the request origin by default, with the prefix', () => {
    assert.equal(urlBuilder({})(req)('/v2/a/blobs/uploads/1'), 'https://reg.example.com/v2/a/blobs/uploads/1');
    assert.equal(urlBuilder({ prefix: '/registry/' })(req)('/v2/'), 'https://reg.example.com/registry/v2/');
  });

  test('relative paths with relativeUrls, prefix kept', () => {
    assert.equal(urlBuilder({ relativeUrls: true })(req)('/v2/x'), '/v2/x');
    assert.equal(urlBuilder({ relativeUrls: true, prefix: 'registry' })(req)('/v2/x'), '/registry/v2/x');
  });

  test('http.host wins over the request and relativeUrls; its path replaces the prefix', () => {
    assert.equal(urlBuilder({ host: 'https://pub.example.com/', relativeUrls: true })(req)('/v2/x'), 'https://pub.example.com/v2/x');
    assert.equal(urlBuilder({ host: 'https://pub.example.com', prefix: '/registry' })(req)('/v2/x'), 'https://pub.example.com/registry/v2/x');
    assert.equal(urlBuilder({ host: 'https://pub.example.com/outside/', prefix: '/registry' })(req)('/v2/x'), 'https://pub.example.com/outside/v2/x');
  });

  test('a request without any host gets a path', () => {
    assert.equal(urlBuilder({})(request({}))('/v2/x'), '/v2/x');
  });

  test('normalizePrefix', () => {
    assert.equal(normalizePrefix(undefined), '');
    assert.equal(normalizePrefix('/'), '');
    assert.equal(normalizePrefix('/path/'), '/path');
    assert.equal(normalizePrefix('a/b'), '/a/b');
  });
});
