import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { berthBin, ensureBuilt } from '../../test/helpers/compiled-cli.js';
import { parse as parseYaml } from 'yaml';

/** `berth config check` and `berth config schema`, run as a user runs them: the compiled bin/berth.js. */
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const bin = berthBin;

let directory: string;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'berth-config-cli-'));
  await ensureBuilt();
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('berth config', { timeout: 120_000 }, () => {
  test('check: warnings on stderr, the effective configuration on stdout with secrets masked, exit 0', async () => {
    const file = join(directory, 'check.yml');
    await writeFile(
      file,
      `version: 0.1
storage:
  filesystem:
    rootdirectory: /srv/registry
http:
  addr: 127.0.0.1:5000
  secret: file-http-secret
redis:
  addr: redis:6379
  password: file-redis-password
auth:
  htpasswd:
    realm: Registry
    path: /etc/berth/htpasswd
`,
    );
    const { code, stdout, stderr } = await berth(['config', 'check', file], {
      REGISTRY_HTTP_ADDR: '127.0.0.1:6000',
      REGISTRY_HTTP_TLS_CLIENTCAS: '[/ca/a.pem, /ca/b.pem]',
      REGISTRY_HTTP_TLS_CERTIFICATE: '/tls/cert.pem',
      REGISTRY_HTTP_TLS_KEY: '/tls/key.pem',
      REGISTRY_PROXY_REMOTEURL: 'https://upstream.example.com',
      REGISTRY_PROXY_PASSWORD: 'env-proxy-password',
      REGISTRY_NO_SUCH_KEY: 'x',
    });
    assert.equal(code, 0, stderr);
    assert.deepEqual(stderr.trimEnd().split('\n').sort(), [
      'berth: warning: environment variable REGISTRY_NO_SUCH_KEY names no configuration key; ignored',
      'berth: warning: http.secret: not implemented by this version of Berth; ignored',
    ]);
    for (const secret of ['file-http-secret', 'file-redis-password', 'env-proxy-password']) {
      assert.ok(!stdout.includes(secret) && !stderr.includes(secret), `${secret} does not appear`);
    }
    const effective = parseYaml(stdout);
    assert.equal(effective.http.addr, '127.0.0.1:6000');
    assert.equal(effective.http.secret, '<redacted>');
    assert.equal(effective.redis.password, '<redacted>');
    assert.equal(effective.proxy.password, '<redacted>');
    assert.deepEqual(effective.http.tls, {
      certificate: '/tls/cert.pem',
      key: '/tls/key.pem',
      clientcas: ['/ca/a.pem', '/ca/b.pem'],
      clientauth: 'require-and-verify-client-cert',
      minimumtls: 'tls1.2',
    });
    assert.deepEqual(effective.auth, { htpasswd: { realm: 'Registry', path: '/etc/berth/htpasswd' } });
    assert.equal(effective.storage.delete.enabled, false);
  });

  test('check without a file checks the built-in default', async () => {
    const { code, stdout, stderr } = await berth(['config', 'check']);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    const { maintenance, ...storage } = parseYaml(stdout).storage;
    assert.deepEqual(storage, { filesystem: { rootdirectory: './data' }, delete: { enabled: true } });
    // Distribution's maintenance defaults, written as durations.
    assert.deepEqual(maintenance.uploadpurging, { enabled: true, age: '168h', interval: '24h', dryrun: false });
    assert.deepEqual(maintenance.readonly, { enabled: false });
  });

  test('check of a bad file: one line naming the key, exit 1', async () => {
    const file = join(directory, 'bad.yml');
    await writeFile(file, 'version: 0.1\nstorage:\n  inmemory:\naccess:\n  rules:\n    - repository: a/*\n      anonymous: [read]\n');
    const { code, stdout, stderr } = await berth(['config', 'check', file]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(stderr, 'berth: configuration error: access.rules.0.anonymous.0: must be one of pull, push, delete, *\n');
    const missing = await berth(['config', 'check', file.replace('bad', 'missing')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^berth: configuration error: cannot read config file .*missing\.yml/);
  });

  test('schema prints a JSON Schema that rejects unknown keys', async () => {
    const { code, stdout } = await berth(['config', 'schema']);
    assert.equal(code, 0);
    const schema = JSON.parse(stdout) as { $schema: string; additionalProperties: boolean; properties: Record<string, unknown> };
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.additionalProperties, false);
    assert.ok(['version', 'log', 'storage', 'auth', 'http', 'access', 'redis', 'reporting'].every((key) => key in schema.properties));
  });

  test('--help lists the config commands', async () => {
    const { stdout } = await berth(['config', '--help']);
    assert.match(stdout, /check \[config\]/);
    assert.match(stdout, /schema/);
  });
});

/** The environment without REGISTRY_* variables, plus the given ones. */
function berth(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [bin, ...args], env, 20_000);
}

async function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeout: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_')));
  const child = spawn(command, args, { cwd: repoRoot, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeout);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr };
}
