import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { passwords, startAuthRegistry } from '../../test/helpers/auth.js';
import { createTestCa } from '../../test/helpers/tls.js';
import { startTestRegistry, type TestRegistry } from '../../test/helpers/registry-server.js';
import { benchCommand, benchOptions, parseMix, type BenchIo } from './bench.js';

/** Runs `berth bench ARGS` in this process; what it wrote and the exit code it asked for. */
async function bench(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  let stdout = '';
  let stderr = '';
  let code = 0;
  const io: BenchIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    exit: (value) => void (code = value),
  };
  const command = benchCommand(io)
    .exitOverride()
    .configureOutput({ writeOut: (text) => void (stdout += text), writeErr: (text) => void (stderr += text) });
  try {
    await command.parseAsync(args, { from: 'user' });
  } catch (error) {
    // exitOverride: commander throws instead of exiting on a usage error.
    const exitCode = (error as { exitCode?: number }).exitCode;
    if (exitCode === undefined) throw error;
    code = exitCode;
  }
  return { stdout, stderr, code };
}

describe('berth bench (CLI)', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  let dir: string;
  before(async () => {
    registry = await startTestRegistry();
    dir = await mkdtemp(join(tmpdir(), 'berth-bench-cli-'));
  });
  after(async () => {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one JSON document with stable fields, and exits 0 on a clean run', async () => {
    const { stdout, code } = await bench(['manifest-get', '--registry', registry.hostPort, '--insecure', '--count', '40', '--concurrency', '4', '--json']);
    assert.equal(code, 0);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(result), [
      'scenario',
      'registry',
      'startedAt',
      'params',
      'setupSeconds',
      'seconds',
      'bytes',
      'counts',
      'rates',
      'requests',
      'operations',
      'timeSeries',
      'histograms',
      'notes',
      'errors',
      'valid',
    ]);
    assert.equal(result.scenario, 'manifest-get');
    assert.equal(result.valid, true);
    assert.deepEqual(result.errors, { count: 0, first: [] });
    assert.deepEqual(Object.keys(result.rates as object), ['requests_per_s', 'ops_per_s', 'images_per_s', 'MB_per_s']);
    const params = result.params as Record<string, unknown>;
    assert.equal(params.count, 40);
    assert.equal(params.durationMs, null, '--count replaces the default duration');
    assert.match(params.prefix as string, /^bench\/[0-9a-f]{8}$/);
    const get = (result.requests as Record<string, Record<string, number>>)['manifest-get']!;
    assert.deepEqual(Object.keys(get), ['count', 'errors', 'p50', 'p90', 'p99', 'max', 'mean']);
    assert.equal(get.count, 40);
    const series = result.timeSeries as Record<string, number>[];
    assert.deepEqual(Object.keys(series[0]!), ['second', 'requests', 'errors', 'bytes']);
    assert.equal(series.reduce((sum, s) => sum + s.requests!, 0), 40);
  });

  it('prints a summary table and writes --report', async () => {
    const report = join(dir, 'run.html');
    const { stdout, stderr, code } = await bench(['push-images', '--registry', registry.hostPort, '--insecure', '--count', '4', '--size', '8KiB', '--shared-base', '1', '--report', report]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^== push-images {2}127\.0\.0\.1:\d+ {2}prefix=bench\/[0-9a-f]{8} {2}concurrency=8$/m);
    assert.match(stdout, /^ {3}blob-put +\d+ +0 /m);
    assert.match(stdout, /^ {3}op image-push +4 +0 /m);
    assert.match(stdout, /^ {3}errors {3}0$/m);
    assert.match(await readFile(report, 'utf8'), /^<!doctype html>/);
  });

  it('exits 1 and prints the first errors when the registry cannot be reached', async () => {
    const { stdout, code } = await bench(['manifest-get', '--registry', '127.0.0.1:1', '--insecure', '--count', '5']);
    assert.equal(code, 1);
    assert.match(stdout, /INVALID RESULT/);
    assert.match(stdout, /errors {3}1\n {5}- setup \(push one small image\) failed: .*ECONNREFUSED/);
    const json = await bench(['manifest-get', '--registry', '127.0.0.1:1', '--insecure', '--count', '5', '--json']);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as { valid: boolean }).valid, false);
    assert.match(json.stderr, /1 error\(s\); the first:\n {2}setup/);
  });

  it('refuses bad flags before doing anything', async () => {
    for (const args of [
      ['nope', '--registry', registry.hostPort],
      ['manifest-get'],
      ['push-images', '--registry', registry.hostPort, '--size', '12parsecs'],
      ['push-images', '--registry', registry.hostPort, '--duration', 'soon'],
      ['push-images', '--registry', registry.hostPort, '--concurrency', '0'],
      ['push-blob', '--registry', registry.hostPort, '--mode', 'sideways'],
    ]) {
      const { code, stderr } = await bench(args);
      assert.notEqual(code, 0, args.join(' '));
      assert.match(stderr, /error/, args.join(' '));
    }
  });
});

describe('berth bench credentials', { timeout: 60_000 }, () => {
  it('uses --username/--password, else the credentials saved in $DOCKER_CONFIG/config.json', async () => {
    const registry = await startAuthRegistry('htpasswd');
    const dockerConfig = await mkdtemp(join(tmpdir(), 'berth-bench-docker-config-'));
    const saved = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = dockerConfig;
    try {
      const args = ['push-images', '--registry', registry.hostPort, '--insecure', '--count', '2', '--size', '4KiB', '--json'];
      const anonymous = await bench([...args, '--prefix', 'team/anonymous']);
      assert.equal(anonymous.code, 1);
      assert.match((JSON.parse(anonymous.stdout) as { errors: { first: string[] } }).errors.first[0]!, /: 401 /);
      const flags = await bench([...args, '--prefix', 'team/flags', '--username', 'writer', '--password', passwords.writer!]);
      assert.equal(flags.code, 0, flags.stderr);
      const auth = Buffer.from(`writer:${passwords.writer}`).toString('base64');
      await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.hostPort]: { auth } } }));
      const fromFile = await bench([...args, '--prefix', 'team/config']);
      assert.equal(fromFile.code, 0, fromFile.stdout);
      assert.equal((JSON.parse(fromFile.stdout) as { counts: { images: number } }).counts.images, 2);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
      await registry.close();
      await rm(dockerConfig, { recursive: true, force: true });
    }
  });
});

describe('berth bench over TLS', { timeout: 60_000 }, () => {
  it('trusts the registry with --ca-file, and counts an untrusted certificate as an error', async () => {
    const ca = await createTestCa();
    try {
      const server = await ca.serverCert();
      const registry = await startTestRegistry({ listen: { tls: { certificate: server.cert, key: server.key } } });
      try {
        const args = ['manifest-get', '--registry', registry.hostPort, '--count', '10', '--json'];
        const trusted = await bench([...args, '--ca-file', ca.cert]);
        assert.equal(trusted.code, 0, trusted.stdout);
        assert.equal((JSON.parse(trusted.stdout) as { requests: Record<string, { count: number }> }).requests['manifest-get']!.count, 10);
        const untrusted = await bench(args);
        assert.equal(untrusted.code, 1);
        assert.match((JSON.parse(untrusted.stdout) as { errors: { first: string[] } }).errors.first[0]!, /no answer/);
      } finally {
        await registry.close();
      }
    } finally {
      await ca.remove();
    }
  });
});

describe('bench options', () => {
  it('applies the scenario defaults, and a bound given replaces the default bounds', () => {
    const get = benchOptions('manifest-get', { registry: 'r:1' });
    assert.equal(get.durationMs, 10_000);
    assert.equal(get.count, undefined);
    assert.equal(get.concurrency, 16);
    const counted = benchOptions('manifest-get', { registry: 'r:1', count: 500 });
    assert.equal(counted.count, 500);
    assert.equal(counted.durationMs, undefined);
    const push = benchOptions('push-images', { registry: 'r:1', prefix: 'x/y', sharedBase: 1, size: 1024 });
    assert.deepEqual([push.count, push.layers, push.sharedBase, push.size, push.prefix], [100, 3, 1, 1024, 'x/y']);
    assert.throws(() => benchOptions('push-images', { registry: 'r:1', layers: 2, sharedBase: 3 }), /--shared-base 3 is more than --layers 2/);
  });

  it('parses --mix weights', () => {
    assert.deepEqual(parseMix('push=1,pull=3'), { push: 1, pull: 3, get: 0, head: 0, tags: 0 });
    assert.throws(() => parseMix('push=1,sing=2'));
    assert.throws(() => parseMix('push=0'));
  });
});
