// The process logger's formats (src/log.ts) and the access log line (src/http/server.ts): its
// fields, and that credentials (Basic, tokens in the query) never reach it.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { createAccessController } from '../../src/auth/create-access-controller.js';
import { listen, type Listener } from '../../src/http/listener.js';
import { createRequestHandler, loggablePath } from '../../src/http/server.js';
import { createLogger, formatTextLine } from '../../src/log.js';
import { Registry } from '../../src/registry/registry.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { basic, passwords } from '../helpers/auth.js';
import { digestOf, uniqueBytes } from '../helpers/push.js';

/** A pino destination that keeps every line. */
function collector(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

describe('log formats', () => {
  test('json: pino lines with log.fields on every record', () => {
    const out = collector();
    const log = createLogger('info', { formatter: 'json', fields: { environment: 'staging', region: 'eu' }, destination: out });
    log.info({ repository: 'a/b' }, 'hello');
    log.debug('below the level');
    assert.equal(out.lines.length, 1);
    const record = JSON.parse(out.lines[0]!) as Record<string, unknown>;
    assert.equal(record.msg, 'hello');
    assert.equal(record.level, 30);
    assert.equal(record.environment, 'staging');
    assert.equal(record.region, 'eu');
    assert.equal(record.repository, 'a/b');
  });

  test('logstash: @timestamp, @version, message and the level by name', () => {
    const out = collector();
    createLogger('info', { formatter: 'logstash', fields: { environment: 'staging' }, destination: out }).warn({ n: 1 }, 'careful');
    const record = JSON.parse(out.lines[0]!) as Record<string, unknown>;
    assert.equal(record.message, 'careful');
    assert.equal(record['@version'], '1');
    assert.equal(record.level, 'warn');
    assert.ok(!Number.isNaN(Date.parse(String(record['@timestamp']))));
    assert.equal(record.environment, 'staging');
    assert.equal(record.n, 1);
  });

  test('text: one line per record with time, level, message and key=value fields', () => {
    const out = collector();
    const log = createLogger('debug', { formatter: 'text', fields: { environment: 'staging' }, destination: out });
    log.child({ req_id: 'r1' }).info({ status: 200, path: '/v2/', note: 'two words', nested: { a: 1 } }, 'request');
    log.error('broken');
    assert.equal(out.lines.length, 2);
    const [first, second] = out.lines;
    assert.match(first!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}request /);
    assert.ok(first!.endsWith('\n') && !first!.slice(0, -1).includes('\n'));
    for (const field of ['environment=staging', 'req_id=r1', 'status=200', 'path=/v2/', 'note="two words"', 'nested={"a":1}']) {
      assert.ok(first!.includes(` ${field}`), `${field} in ${first}`);
    }
    assert.ok(!first!.includes('service='), 'the default service field is left out of text lines');
    assert.match(second!, / ERROR broken environment=staging\n$/);
  });

  test('formatTextLine passes a line that is not JSON through', () => {
    assert.equal(formatTextLine('not json'), 'not json\n');
  });

  test('credentials in logged objects are redacted in every format', () => {
    for (const formatter of ['text', 'json', 'logstash'] as const) {
      const out = collector();
      const log = createLogger('info', { formatter, destination: out });
      log.info({ req: { headers: { authorization: 'Basic c2VjcmV0' } }, password: 'hunter2', secret: 's3cr3t' }, 'oops');
      assert.ok(!/c2VjcmV0|hunter2|s3cr3t/.test(out.lines.join('')), `${formatter}: ${out.lines.join('')}`);
    }
  });
});

describe('loggablePath', () => {
  test('secret query values are replaced; the rest is kept as sent', () => {
    assert.equal(loggablePath('/v2/a/b/blobs/uploads/x?digest=sha256:ab&_state=s'), '/v2/a/b/blobs/uploads/x?digest=sha256:ab&_state=s');
    assert.equal(loggablePath('/v2/?access_token=abc&x=1&token=def'), '/v2/?access_token=REDACTED&x=1&token=REDACTED');
    assert.equal(loggablePath('/p?X-Amz-Signature=abc&password=p&api_key=k'), '/p?X-Amz-Signature=REDACTED&password=REDACTED&api_key=REDACTED');
    assert.equal(loggablePath('http://user:pass@host/v2/'), 'http://host/v2/');
    assert.equal(loggablePath(undefined), '/');
  });
});

describe('the access log', { timeout: 30_000 }, () => {
  let dir: string;
  let listener: Listener;
  let base: string;
  const out = collector();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `writer:${bcrypt.hashSync(passwords.writer!, 4)}\n`);
    const setup = await createAccessController({ auth: { htpasswd: { realm: 'logs-test', path: htpasswd } } }, pino({ level: 'silent' }));
    const registry = new Registry(new FilesystemDriver(join(dir, 'data')), { deleteEnabled: true, redirect: false });
    const handler = createRequestHandler({
      registry,
      log: createLogger('info', { formatter: 'json', destination: out }),
      relativeUrls: true,
      access: setup.access,
      extraRoutes: setup.endpoints,
      accessLog: true,
    });
    listener = await listen(handler, { net: 'tcp', addr: '127.0.0.1:0' });
    base = `http://127.0.0.1:${listener.port}`;
  });
  after(async () => {
    await listener?.close(0);
    await rm(dir, { recursive: true, force: true });
  });

  /** The access log records so far (the handler logs when the answer closes, so wait for it). */
  async function requests(count: number): Promise<Record<string, unknown>[]> {
    for (let i = 0; i < 200; i++) {
      const found = out.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((r) => r.msg === 'request');
      if (found.length >= count) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`fewer than ${count} access log lines: ${out.lines.join('')}`);
  }

  test('one line per request: method, path, status, bytes both ways, duration, user, repository, route', async () => {
    out.lines.length = 0;
    const content = uniqueBytes(1000);
    const digest = digestOf(content);
    const start = await fetch(`${base}/v2/logs/repo/blobs/uploads/`, { method: 'POST', headers: basic('writer') });
    assert.equal(start.status, 202);
    const location = new URL(start.headers.get('location')!, base);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', headers: { ...basic('writer'), 'content-type': 'application/octet-stream' }, body: content as Uint8Array<ArrayBuffer> });
    assert.equal(put.status, 201);
    const get = await fetch(`${base}/v2/logs/repo/blobs/${digest}`, { headers: basic('writer') });
    assert.equal(Buffer.from(await get.arrayBuffer()).length, 1000);
    const anonymous = await fetch(`${base}/v2/`);
    await anonymous.arrayBuffer();

    const [post, upload, pull, ping] = await requests(4);
    assert.equal(post!.method, 'POST');
    assert.equal(post!.path, '/v2/logs/repo/blobs/uploads/');
    assert.equal(post!.status, 202);
    assert.equal(post!.route, 'upload-start');
    assert.equal(post!.repository, 'logs/repo');
    assert.equal(post!.user, 'writer');
    assert.equal(typeof post!.ms, 'number');
    assert.equal(typeof post!.req_id, 'string');

    assert.equal(upload!.method, 'PUT');
    assert.equal(upload!.route, 'upload');
    assert.equal(upload!.status, 201);
    assert.equal(upload!.bytes_in, 1000);

    assert.equal(pull!.method, 'GET');
    assert.equal(pull!.route, 'blob');
    assert.equal(pull!.status, 200);
    assert.equal(pull!.bytes_out, 1000);
    assert.equal(pull!.bytes_in, 0);
    assert.equal(pull!.user, 'writer');

    assert.equal(ping!.status, 401);
    assert.equal(ping!.user, undefined);
    assert.equal(ping!.route, 'base');
  });

  test('Basic credentials and tokens in the query never reach the log', async () => {
    out.lines.length = 0;
    const token = 'tok-0123456789-secret';
    const headers = basic('writer');
    const encoded = headers.Authorization!.slice('Basic '.length);
    await (await fetch(`${base}/v2/?access_token=${token}`, { headers })).arrayBuffer();
    await (await fetch(`${base}/v2/logs/repo/tags/list?token=${token}&n=5`, { headers: { Authorization: `Bearer ${token}` } })).arrayBuffer();
    const records = await requests(2);
    assert.ok(records.some((r) => r.path === '/v2/?access_token=REDACTED'));
    assert.ok(records.some((r) => r.path === '/v2/logs/repo/tags/list?token=REDACTED&n=5'));
    const text = out.lines.join('');
    for (const secret of [token, encoded, passwords.writer!]) assert.ok(!text.includes(secret), `${secret} in the log:\n${text}`);
  });
});
