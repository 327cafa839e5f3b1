import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { openFilesUnder } from '../helpers/files.js';
import type { ListenOptions } from '../../src/http/listener.js';
import type { ClientTimeouts } from '../../src/http/timeouts.js';
import { fetchBody } from '../helpers/http.js';
import { openRaw, parseAnswer, type RawConnection } from '../helpers/raw-connection.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { http2Fetch, http2Session } from '../helpers/tls-client.js';
import { createTestCa, type CertFiles, type TestCa } from '../helpers/tls.js';
import { digestOf, pushBlob, startUpload, uniqueBytes, withDigest } from '../helpers/push.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Slow and stalled clients against short timeouts (`http.timeouts.*`): each is cut within its
 * configured time (with a margin for a loaded machine), answered 408 in the spec's format when
 * its answer had not started, logged, and meanwhile a normal client is still served.
 */
const timeouts: ClientTimeouts = {
  headerMs: 1000,
  idleMs: 1500,
  minRate: 1024,
  minRateGraceMs: 1000,
  requestMs: 0,
  maxConnections: 0,
};
/** Cuts happen at the timeout plus at most a checking interval; the rest is a loaded machine's slack. */
const marginMs = 3000;

describe('client timeouts', { timeout: 120_000 }, () => {
  let reg: TestRegistry;
  const logLines: Record<string, unknown>[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    reg = await startTestRegistry({ listen: { timeouts, log: pino({ level: 'warn' }, sink) } });
  });
  after(() => reg.close());

  const port = () => reg.listener.port!;
  const logged = (text: string) => logLines.some((line) => String(line.msg).includes(text));

  test('a head sent one byte at a time is answered 408 once http.timeouts.header is over', async () => {
    const conn = await openRaw(port());
    const start = performance.now();
    conn.socket.write('GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // Each byte is traffic, so the idle timeout alone would never fire.
    void conn.trickle('X', 10_000, 100);
    const closedAt = await conn.closed;
    const elapsed = closedAt - start;
    assert.ok(elapsed >= timeouts.headerMs * 0.9 && elapsed <= timeouts.headerMs + marginMs, `cut after ${elapsed} ms`);
    const answer = parseAnswer(conn.received());
    assert.equal(answer.status, 408);
    assertSpecError(answer.body);
    assert.ok(logged('request head not received within http.timeouts.header'));
  });

  test('a body at one byte per 100 ms is cut by http.timeouts.minrate after its grace; the upload stays resumable', async () => {
    const location = await startUpload(reg.url, 'timeouts/trickle');
    const conn = await openRaw(port());
    const start = performance.now();
    conn.socket.write(
      `PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        'Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n',
    );
    const sent = await conn.trickle('a', 100_000, 100);
    const elapsed = (await conn.closed) - start;
    const cutAfter = timeouts.minRateGraceMs;
    assert.ok(elapsed >= cutAfter * 0.9 && elapsed <= cutAfter + marginMs, `cut after ${elapsed} ms`);
    assert.ok(sent < 1000, `the client sent ${sent} bytes before being cut`);
    const answer = parseAnswer(conn.received());
    assert.equal(answer.status, 408);
    assertSpecError(answer.body);
    assert.ok(logged('body slower than http.timeouts.minrate'));
    await assertResumable(location);
  });

  test('a body that stops arriving is cut after http.timeouts.idle; the upload is resumed and completes', async () => {
    const content = uniqueBytes(100_000);
    const location = await startUpload(reg.url, 'timeouts/stall');
    const conn = await openRaw(port());
    conn.socket.write(
      `PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        'Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n',
    );
    // Fast enough for the rate check, then silence.
    conn.socket.write(content.subarray(0, 50_000));
    const start = performance.now();
    const elapsed = (await conn.closed) - start;
    assert.ok(elapsed >= timeouts.idleMs * 0.9 && elapsed <= timeouts.idleMs + marginMs, `cut after ${elapsed} ms`);
    const answer = parseAnswer(conn.received());
    assert.equal(answer.status, 408);
    assertSpecError(answer.body);
    assert.ok(logged('request body stalled longer than http.timeouts.idle'));
    const offset = await assertResumable(location);
    assert.ok(offset <= 50_000);
    // The client goes on from where the registry says it is, and the blob is whole.
    const rest = await fetch(location, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${content.length - 1}` },
      body: fetchBody(content.subarray(offset)),
    });
    assert.equal(rest.status, 202, await rest.text());
    const done = await fetch(withDigest(new URL(rest.headers.get('location')!, reg.url), digestOf(content)), { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
  });

  test('a client that stops reading a large blob is cut after http.timeouts.idle', async () => {
    const size = 48 * 1024 * 1024;
    const content = uniqueBytes(size);
    const blob = await pushBlob(reg.url, 'timeouts/reader', content);
    const conn = await openRaw(port());
    conn.socket.pause();
    conn.socket.write(`GET /v2/timeouts/reader/blobs/${blob.digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    // No reading at all: the server's writes back up, and after idleMs it gives up on us.
    const deadline = timeouts.idleMs + marginMs;
    await waitFor('the stalled reader is logged', () => logged('client stopped reading the answer'), { timeoutMs: deadline + 2000 });
    // Whatever the kernel buffered still arrives; then the connection ends short of the blob.
    conn.socket.resume();
    await conn.closed;
    const received = conn.received().length;
    assert.ok(received < size, `received ${received} of ${size} bytes`);
  });

  test('a slow but real body (about 40 KiB/s, far above minrate) completes', async () => {
    const content = uniqueBytes(100 * 1024);
    const location = await startUpload(reg.url, 'timeouts/slow-real');
    const conn = await openRaw(port());
    conn.socket.write(
      `PUT ${withDigest(location, digestOf(content)).pathname}?${withDigest(location, digestOf(content)).searchParams} HTTP/1.1\r\n` +
        `Host: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${content.length}\r\nConnection: close\r\n\r\n`,
    );
    // 4 KiB every 100 ms: 2.5 s in all, longer than every timeout configured here.
    for (let at = 0; at < content.length; at += 4096) {
      conn.socket.write(content.subarray(at, at + 4096));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await conn.closed;
    assert.equal(parseAnswer(conn.received()).status, 201);
    const back = await fetch(`${reg.url}/v2/timeouts/slow-real/blobs/${digestOf(content)}`);
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(content));
  });

  test('many slow clients at once do not keep a normal client from being served, and are all cut', async () => {
    const slow: RawConnection[] = [];
    for (let i = 0; i < 40; i++) {
      const conn = await openRaw(port());
      conn.socket.write('GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      void conn.trickle('Y', 10_000, 200);
      slow.push(conn);
    }
    for (let i = 0; i < 20; i++) {
      const location = await startUpload(reg.url, 'timeouts/crowd');
      const conn = await openRaw(port());
      conn.socket.write(
        `PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n`,
      );
      void conn.trickle('b', 100_000, 200);
      slow.push(conn);
    }
    // While they are all connected, a normal push and pull go through.
    const content = uniqueBytes(256 * 1024);
    const blob = await pushBlob(reg.url, 'timeouts/normal', content);
    const back = await fetch(`${reg.url}/v2/timeouts/normal/blobs/${blob.digest}`);
    assert.equal(back.status, 200);
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(content));
    assert.ok(slow.every((conn) => !conn.socket.destroyed), 'the slow clients were still connected while the normal one was served');
    const cut = await Promise.race([
      Promise.all(slow.map((conn) => conn.closed)).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), timeouts.minRateGraceMs + marginMs * 2).unref()),
    ]);
    assert.ok(cut, 'every slow client was cut');
    for (const conn of slow) assert.equal(parseAnswer(conn.received()).status, 408);
    // The uploads they were feeding let go of their files (a handler left waiting for the rest of
    // a body would hold its file and the upload's lock for good).
    await waitFor('no file under the root is open', () => openFilesUnder(reg.root) === 0, { timeoutMs: 5000 });
  });

  /** The upload answers its status with a Range, so the client can go on from there. */
  async function assertResumable(location: URL): Promise<number> {
    const status = await fetch(location);
    assert.equal(status.status, 204);
    const range = status.headers.get('range');
    assert.match(range ?? '', /^0-\d+$/);
    return Number(range!.split('-')[1]) + 1;
  }
});

describe('the header timeout on every kind of listener', { timeout: 60_000 }, () => {
  let ca: TestCa;
  before(async () => {
    ca = await createTestCa();
  });
  after(() => ca.remove());

  const kinds: { name: string; listen: (ca: TestCa) => Promise<Partial<ListenOptions>>; tls: boolean }[] = [
    { name: 'plain HTTP with h2c', listen: async () => ({ h2c: true }), tls: false },
    { name: 'HTTPS with HTTP/2 (HTTP/1.1 by ALPN)', listen: async (ca) => tlsListen(await ca.serverCert(), true), tls: true },
    { name: 'HTTPS, HTTP/1.1 only', listen: async (ca) => tlsListen(await ca.serverCert(), false), tls: true },
  ];
  for (const kind of kinds) {
    test(`${kind.name}: a head sent one byte at a time is answered 408`, async () => {
      const reg = await startTestRegistry({ listen: { ...(await kind.listen(ca)), timeouts } });
      try {
        const conn = await openRaw(reg.listener.port!, kind.tls ? { ca: ca.certPem } : {});
        const start = performance.now();
        conn.socket.write('GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        void conn.trickle('X', 10_000, 100);
        const elapsed = (await conn.closed) - start;
        assert.ok(elapsed <= timeouts.headerMs + marginMs, `cut after ${elapsed} ms`);
        assert.equal(parseAnswer(conn.received()).status, 408);
        // The listener still serves a normal client.
        const ok = await openRaw(reg.listener.port!, kind.tls ? { ca: ca.certPem } : {});
        ok.socket.write('GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
        await ok.closed;
        assert.equal(parseAnswer(ok.received()).status, 200);
      } finally {
        await reg.close();
      }
    });
  }
});

describe('time the registry spends is not the client idling', { timeout: 60_000 }, () => {
  let reg: TestRegistry;
  /** While set, every storage call first waits this long: longer than the idle timeout. */
  let storageDelayMs = 0;
  before(async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-slow-storage-'));
    const fs = new FilesystemDriver(root);
    // Every method of the driver, delayed while storageDelayMs is set.
    const slow = new Proxy(fs, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (storageDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, storageDelayMs));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    reg = await startTestRegistry({ driver: slow, root, listen: { h2c: true, timeouts } });
  });
  after(async () => {
    await reg.close();
    await rm(reg.root, { recursive: true, force: true });
  });

  test('over HTTP/1.1 and HTTP/2 (h2c), answers that take longer than http.timeouts.idle still arrive', async () => {
    const content = uniqueBytes(1024);
    const blob = await pushBlob(reg.url, 'timeouts/slow-storage', content);
    storageDelayMs = timeouts.idleMs + 1000;
    try {
      const [http1, http2] = await Promise.all([
        fetch(`${reg.url}/v2/timeouts/slow-storage/blobs/${blob.digest}`).then(async (r) => ({ status: r.status, body: Buffer.from(await r.arrayBuffer()) })),
        (async () => {
          const session = await http2Session(reg.url);
          try {
            return await http2Fetch(session, `/v2/timeouts/slow-storage/blobs/${blob.digest}`);
          } finally {
            session.close();
          }
        })(),
      ]);
      for (const answer of [http1, http2]) {
        assert.equal(answer.status, 200);
        assert.ok(answer.body.equals(content));
      }
    } finally {
      storageDelayMs = 0;
    }
  });

  test('an HTTP/2 connection with nothing in flight is closed after http.timeouts.idle', async () => {
    const session = await http2Session(reg.url);
    const closed = new Promise<number>((resolve) => session.once('close', () => resolve(performance.now())));
    const start = performance.now();
    assert.equal((await http2Fetch(session, '/v2/')).status, 200);
    const elapsed = (await closed) - start;
    assert.ok(elapsed >= timeouts.idleMs * 0.9 && elapsed <= timeouts.idleMs + marginMs, `closed after ${elapsed} ms`);
  });
});

describe('http.timeouts.request', { timeout: 60_000 }, () => {
  test('a body fast enough for minrate but not done within the hard cap is answered 408', async () => {
    const requestMs = 2000;
    const reg = await startTestRegistry({ listen: { timeouts: { ...timeouts, requestMs } } });
    try {
      const location = await startUpload(reg.url, 'timeouts/cap');
      const conn = await openRaw(reg.listener.port!);
      const start = performance.now();
      conn.socket.write(
        `PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n`,
      );
      // 8 KiB/s: well above minrate, and 2 minutes for the whole body.
      void conn.trickle('c'.repeat(1024), 1_000_000, 125);
      const elapsed = (await conn.closed) - start;
      assert.ok(elapsed >= requestMs * 0.9 && elapsed <= requestMs + marginMs, `cut after ${elapsed} ms`);
      const answer = parseAnswer(conn.received());
      assert.equal(answer.status, 408);
      assertSpecError(answer.body);
    } finally {
      await reg.close();
    }
  });
});

describe('http.maxconnections', { timeout: 60_000 }, () => {
  test('connections past the cap are closed at once and logged; once some go, new ones are served', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const cap = 5;
    const reg = await startTestRegistry({ listen: { timeouts: { ...timeouts, maxConnections: cap }, log: pino({ level: 'warn' }, sink) } });
    try {
      const held: RawConnection[] = [];
      for (let i = 0; i < cap; i++) held.push(await openRaw(reg.listener.port!));
      // The server has taken them all once one of them is answered.
      held[0]!.socket.write('GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await waitFor('the held client receives bytes', () => held[0]!.received().length > 0, { timeoutMs: 5000 });
      const refused = await openRaw(reg.listener.port!);
      refused.socket.write('GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await refused.closed;
      assert.equal(refused.received().length, 0, 'the connection past the cap got no answer');
      assert.ok(lines.some((line) => line.includes('http.maxconnections reached')));
      for (const conn of held) {
        conn.socket.destroy();
        await conn.closed;
      }
      // The server sees the closes a moment later: a few tries, bounded.
      let served = 0;
      for (let attempt = 0; attempt < 20 && served !== 200; attempt++) {
        served = await fetch(`${reg.url}/v2/`).then((r) => r.status, () => 0);
        if (served !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(served, 200);
    } finally {
      await reg.close();
    }
  });
});

function tlsListen(cert: CertFiles, http2: boolean): Partial<ListenOptions> {
  return { tls: { certificate: cert.cert, key: cert.key }, http2 };
}

function assertSpecError(body: unknown): void {
  const errors = (body as { errors?: { code?: unknown; message?: unknown }[] }).errors;
  assert.ok(Array.isArray(errors) && errors.length === 1, JSON.stringify(body));
  assert.equal(typeof errors[0]!.code, 'string');
  assert.equal(typeof errors[0]!.message, 'string');
}

