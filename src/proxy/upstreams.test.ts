import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { proxySchema } from '../config/sections/proxy.js';
import { upstreamsFromConfig } from './upstreams.js';

describe('upstreams', () => {
  test('remoteurl proxies every repository under its own name', async () => {
    const upstreams = upstreamsFromConfig(proxySchema.parse({ remoteurl: 'http://127.0.0.1:5001', tagttl: '30s' })!);
    try {
      const resolved = upstreams.resolve('team/app');
      assert.equal(resolved?.remoteName, 'team/app');
      assert.equal(resolved?.upstream.remoteUrl, 'http://127.0.0.1:5001');
      assert.equal(resolved?.upstream.client.baseUrl, 'http://127.0.0.1:5001');
      assert.equal(resolved?.upstream.tagTtlMs, 30_000);
      assert.equal(resolved?.upstream.ttlMs, 168 * 3_600_000);
    } finally {
      await upstreams.close();
    }
  });

  test('upstreams: the longest matching prefix wins, its prefix is dropped; other names are not proxied', async () => {
    const upstreams = upstreamsFromConfig(
      proxySchema.parse({
        ttl: '1h',
        upstreams: [
          { prefix: 'hub/', remoteurl: 'https://docker.io', tagttl: '2m' },
          { prefix: 'hub/internal/', remoteurl: 'https://registry.internal:8443', ttl: '0' },
        ],
      })!,
    );
    try {
      const hub = upstreams.resolve('hub/alpine');
      // Docker Hub: docker.io means registry-1.docker.io, and official images live under library/.
      assert.equal(hub?.upstream.client.baseUrl, 'https://registry-1.docker.io');
      assert.equal(hub?.remoteName, 'library/alpine');
      assert.equal(upstreams.resolve('hub/grafana/loki')?.remoteName, 'grafana/loki');
      assert.equal(hub?.upstream.tagTtlMs, 120_000);
      assert.equal(hub?.upstream.ttlMs, 3_600_000);
      const internal = upstreams.resolve('hub/internal/app');
      assert.equal(internal?.upstream.remoteUrl, 'https://registry.internal:8443');
      assert.equal(internal?.remoteName, 'app', 'not library/app: only Docker Hub has that convention');
      assert.equal(internal?.upstream.ttlMs, 0);
      assert.equal(internal?.upstream.tagTtlMs, 60_000, 'tagttl defaults to the top-level one');
      assert.equal(upstreams.resolve('hub'), undefined);
      assert.equal(upstreams.resolve('local/app'), undefined);
      assert.equal(upstreams.resolve('hubx/app'), undefined);
    } finally {
      await upstreams.close();
    }
  });
});
