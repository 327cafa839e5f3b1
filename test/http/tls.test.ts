import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { createTestCa, type CertFiles, type TestCa } from '../helpers/tls.js';
import { http2Fetch, http2Session, httpsFetch, negotiatedProtocol } from '../helpers/tls-client.js';

const execFileAsync = promisify(execFile);
const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

let ca: TestCa;
let otherCa: TestCa;
let server: CertFiles;

before(async () => {
  ca = await createTestCa('Berth Test CA');
  otherCa = await createTestCa('Some Other CA');
  server = await ca.serverCert();
});

after(async () => {
  await ca?.remove();
  await otherCa?.remove();
});

describe('HTTPS with HTTP/2', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startTestRegistry({
      listen: { tls: { certificate: server.cert, key: server.key } },
      headers: { 'X-Content-Type-Options': ['nosniff'], 'X-Extra': ['one', 'two'] },
    });
  });
  after(() => registry.close());

  test('serves the API over HTTPS/1.1 with a certificate for 127.0.0.1', async () => {
    const response = await httpsFetch(`${registry.url}/v2/`, { ca: ca.certPem });
    assert.equal(response.status, 200);
    assert.equal(response.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.equal(response.body.toString(), '{}');
  });

  test('a client that does not trust the CA is refused by its own check', async () => {
    await assert.rejects(() => httpsFetch(`${registry.url}/v2/`, { ca: otherCa.certPem }), /self[- ]signed|unable to verify|certificate/i);
  });

  test('ALPN picks h2 when offered, and HTTP/1.1 for clients without HTTP/2', async () => {
    assert.equal(await negotiatedProtocol(registry.hostPort, ['h2', 'http/1.1'], ca.certPem), 'h2');
    assert.equal(await negotiatedProtocol(registry.hostPort, ['http/1.1'], ca.certPem), 'http/1.1');
  });

  test('http.headers are on every answer, errors included, over HTTP/1.1 and HTTP/2', async () => {
    const h1 = await httpsFetch(`${registry.url}/v2/nothing/tags/list`, { ca: ca.certPem });
    assert.equal(h1.status, 404);
    assert.equal(h1.headers['x-content-type-options'], 'nosniff');
    assert.equal(h1.headers['x-extra'], 'one, two');
    const session = await http2Session(registry.url, { ca: ca.certPem });
    try {
      const h2 = await http2Fetch(session, '/v2/');
      assert.equal(h2.status, 200);
      assert.equal(h2.headers['x-content-type-options'], 'nosniff');
      assert.equal(h2.headers['docker-distribution-api-version'], 'registry/2.0');
    } finally {
      session.close();
    }
  });

  test('a blob is pushed in a streamed PATCH and pulled back over HTTP/2', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const digest = digestOf(content);
    const session = await http2Session(registry.url, { ca: ca.certPem });
    try {
      const started = await http2Fetch(session, '/v2/h2/blob/blobs/uploads/', { method: 'POST' });
      assert.equal(started.status, 202);
      const location = String(started.headers.location);
      const pieces = [content.subarray(0, 1_000_000), content.subarray(1_000_000, 2_500_000), content.subarray(2_500_000)];
      const patched = await http2Fetch(session, location, { method: 'PATCH', body: pieces });
      assert.equal(patched.status, 202);
      assert.equal(patched.headers.range, `0-${content.length - 1}`);
      const done = await http2Fetch(session, `${location}?digest=${digest}`, { method: 'PUT' });
      assert.equal(done.status, 201, done.body.toString());
      assert.equal(done.headers['docker-content-digest'], digest);

      const head = await http2Fetch(session, `/v2/h2/blob/blobs/${digest}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers['content-length']), content.length);
      const pulled = await http2Fetch(session, `/v2/h2/blob/blobs/${digest}`);
      assert.equal(pulled.status, 200);
      assert.ok(pulled.body.equals(content), 'the blob comes back byte for byte');
      const range = await http2Fetch(session, `/v2/h2/blob/blobs/${digest}`, { headers: { range: 'bytes=10-19' } });
      assert.equal(range.status, 206);
      assert.ok(range.body.equals(content.subarray(10, 20)));
    } finally {
      session.close();
    }
  });

  test('a monolithic PUT whose body has no content-length is taken over HTTP/2', async () => {
    const content = randomBytes(200_000);
    const digest = digestOf(content);
    const session = await http2Session(registry.url, { ca: ca.certPem });
    try {
      const started = await http2Fetch(session, '/v2/h2/mono/blobs/uploads/', { method: 'POST' });
      const location = String(started.headers.location);
      const done = await http2Fetch(session, `${location}?digest=${digest}`, { method: 'PUT', body: [content.subarray(0, 1000), content.subarray(1000)] });
      assert.equal(done.status, 201, done.body.toString());
      const pulled = await http2Fetch(session, `/v2/h2/mono/blobs/${digest}`);
      assert.ok(pulled.body.equals(content));
    } finally {
      session.close();
    }
  });

  test('curl --http2 pushes a blob from stdin and pulls it back', async () => {
    const dir = ca.dir;
    const content = randomBytes(1024 * 1024 + 3);
    const digest = digestOf(content);
    const file = join(dir, 'curl-blob');
    const pulledFile = join(dir, 'curl-pulled');
    await writeFile(file, content);
    const curl = async (...args: string[]) =>
      (await execFileAsync('curl', ['-sS', '--http2', '--cacert', ca.cert, '--max-time', '30', ...args], { encoding: 'buffer', maxBuffer: 1 << 24 })).stdout.toString();
    const start = await curl('-X', 'POST', '-D', '-', '-o', '/dev/null', '-w', '%{http_version}', `${registry.url}/v2/curl/h2/blobs/uploads/`);
    assert.match(start, /^HTTP\/2 202/m);
    assert.ok(start.endsWith('2'), `curl used HTTP/2: ${start}`);
    const location = /^location: (\S+)/im.exec(start)![1]!;
    // -T - reads stdin: a body of unknown length, sent as DATA frames with no content-length.
    const patch = (
      await execFileAsync('sh', [
        '-c',
        'curl -sS --http2 --cacert "$1" --max-time 30 -X PATCH -T - -D - -o /dev/null "$2" < "$3"',
        'sh',
        ca.cert,
        `${registry.url}${location}`,
        file,
      ])
    ).stdout;
    assert.match(patch, /^HTTP\/2 202/m);
    assert.match(patch, new RegExp(`^range: 0-${content.length - 1}`, 'im'));
    const put = await curl('-X', 'PUT', '-D', '-', '-o', '/dev/null', `${registry.url}${location}?digest=${digest}`);
    assert.match(put, /^HTTP\/2 201/m);
    await curl('-o', pulledFile, `${registry.url}/v2/curl/h2/blobs/${digest}`);
    const { stdout } = await execFileAsync('sha256sum', [pulledFile]);
    assert.equal(`sha256:${stdout.split(' ')[0]}`, digest);
  });
});

describe('HTTPS with http.http2.disabled', { timeout: 30_000 }, () => {
  test('ALPN offers only HTTP/1.1 and the API still answers', async () => {
    const registry = await startTestRegistry({ listen: { tls: { certificate: server.cert, key: server.key }, http2: false } });
    try {
      assert.equal(await negotiatedProtocol(registry.hostPort, ['h2', 'http/1.1'], ca.certPem), 'http/1.1');
      assert.equal((await httpsFetch(`${registry.url}/v2/`, { ca: ca.certPem })).status, 200);
    } finally {
      await registry.close();
    }
  });
});

describe('http.tls.minimumtls', { timeout: 30_000 }, () => {
  test('tls1.3 refuses a TLS 1.2 client and serves a TLS 1.3 one', async () => {
    const registry = await startTestRegistry({ listen: { tls: { certificate: server.cert, key: server.key, minimumTls: 'tls1.3' } } });
    try {
      await assert.rejects(() => httpsFetch(`${registry.url}/v2/`, { ca: ca.certPem, maxVersion: 'TLSv1.2' }), /version|protocol|alert/i);
      assert.equal((await httpsFetch(`${registry.url}/v2/`, { ca: ca.certPem, minVersion: 'TLSv1.3' })).status, 200);
    } finally {
      await registry.close();
    }
  });

  test('the default (tls1.2) serves TLS 1.2 clients', async () => {
    const registry = await startTestRegistry({ listen: { tls: { certificate: server.cert, key: server.key } } });
    try {
      assert.equal((await httpsFetch(`${registry.url}/v2/`, { ca: ca.certPem, maxVersion: 'TLSv1.2' })).status, 200);
      await assert.rejects(() => httpsFetch(`${registry.url}/v2/`, { ca: ca.certPem, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
    } finally {
      await registry.close();
    }
  });
});

describe('client certificates (http.tls.clientcas)', { timeout: 60_000 }, () => {
  let good: CertFiles;
  let foreign: CertFiles;
  before(async () => {
    good = await ca.clientCert('alice');
    foreign = await otherCa.clientCert('mallory');
  });

  const start = (clientAuth?: 'verify-client-cert-if-given' | 'require-and-verify-client-cert') =>
    startTestRegistry({ listen: { tls: { certificate: server.cert, key: server.key, clientCas: [ca.cert], clientAuth } } });

  for (const clientAuth of [undefined, 'require-and-verify-client-cert'] as const) {
    test(`${clientAuth ?? 'the default mode'} refuses no certificate and a foreign one, and takes one from the client CA`, async () => {
      const registry = await start(clientAuth);
      try {
        const url = `${registry.url}/v2/`;
        await assert.rejects(() => httpsFetch(url, { ca: ca.certPem }), 'no client certificate');
        await assert.rejects(() => httpsFetch(url, { ca: ca.certPem, cert: foreign.certPem, key: foreign.keyPem }), 'a certificate from another CA');
        assert.equal((await httpsFetch(url, { ca: ca.certPem, cert: good.certPem, key: good.keyPem })).status, 200);
        const session = await http2Session(registry.url, { ca: ca.certPem, cert: good.certPem, key: good.keyPem });
        try {
          assert.equal((await http2Fetch(session, '/v2/')).status, 200, 'HTTP/2 with a good certificate');
        } finally {
          session.close();
        }
      } finally {
        await registry.close();
      }
    });
  }

  test('verify-client-cert-if-given takes no certificate, refuses a foreign one, takes a good one', async () => {
    const registry = await start('verify-client-cert-if-given');
    try {
      const url = `${registry.url}/v2/`;
      assert.equal((await httpsFetch(url, { ca: ca.certPem })).status, 200);
      await assert.rejects(() => httpsFetch(url, { ca: ca.certPem, cert: foreign.certPem, key: foreign.keyPem }));
      assert.equal((await httpsFetch(url, { ca: ca.certPem, cert: good.certPem, key: good.keyPem })).status, 200);
    } finally {
      await registry.close();
    }
  });
});
