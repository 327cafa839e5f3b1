import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { passwords, startAuthRegistry, type AuthRegistry } from '../../test/helpers/auth.js';
import { pushImage } from '../../test/helpers/client-content.js';
import { dockerConfigFile, DockerConfigError, readCredentials, removeCredentials, saveCredentials } from './docker-config.js';
import { RegistryClient } from './registry-client.js';

const run = promisify(execFile);

describe('docker config credentials', { timeout: 60_000 }, () => {
  let dir: string;
  let saved: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-docker-config-'));
    saved = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = join(dir, 'docker');
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it('saves, reads and removes credentials in $DOCKER_CONFIG/config.json with private modes', async () => {
    assert.equal(dockerConfigFile(), join(dir, 'docker', 'config.json'));
    assert.equal(await readCredentials('127.0.0.1:5000'), undefined);
    await saveCredentials('127.0.0.1:5000', 'alice', 'pa:ss word');
    assert.deepEqual(await readCredentials('127.0.0.1:5000'), { username: 'alice', password: 'pa:ss word' });
    assert.equal(await readCredentials('127.0.0.1:5001'), undefined);
    const json = JSON.parse(await readFile(dockerConfigFile(), 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(json.auths['127.0.0.1:5000']!.auth, Buffer.from('alice:pa:ss word').toString('base64'));
    assert.equal((await stat(dockerConfigFile())).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'docker'))).mode & 0o777, 0o700);
    assert.equal(await removeCredentials('127.0.0.1:5000'), true);
    assert.equal(await removeCredentials('127.0.0.1:5000'), false);
    assert.equal(await readCredentials('127.0.0.1:5000'), undefined);
  });

  it('keeps the rest of the file, and reads entries other clients wrote', async () => {
    const file = join(dir, 'other.json');
    await writeFile(
      file,
      JSON.stringify({
        auths: { 'https://old.example.com/v1/': { auth: Buffer.from('old:pw').toString('base64') }, 'plain:1': { username: 'u', password: 'p' }, 'helper:1': {} },
        credsStore: 'desktop',
        HttpHeaders: { 'X-Meta': '1' },
      }),
    );
    assert.deepEqual(await readCredentials('old.example.com', { file }), { username: 'old', password: 'pw' });
    assert.deepEqual(await readCredentials('plain:1', { file }), { username: 'u', password: 'p' });
    assert.equal(await readCredentials('helper:1', { file }), undefined);
    await saveCredentials('new:2', 'n', 'm', { file });
    await saveCredentials('old.example.com', 'old', 'changed', { file });
    const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown> & { auths: Record<string, unknown> };
    assert.equal(json.credsStore, 'desktop');
    assert.deepEqual(json.HttpHeaders, { 'X-Meta': '1' });
    assert.deepEqual(Object.keys(json.auths).sort(), ['helper:1', 'https://old.example.com/v1/', 'new:2', 'plain:1']);
    assert.deepEqual(await readCredentials('old.example.com', { file }), { username: 'old', password: 'changed' });
  });

  it('refuses a file that is not a JSON object, and leaves it as it was', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"auths": ');
    await assert.rejects(readCredentials('h', { file }), DockerConfigError);
    await assert.rejects(saveCredentials('h', 'u', 'p', { file }), DockerConfigError);
    assert.equal(await readFile(file, 'utf8'), '{"auths": ');
  });
});

describe('docker config credentials with skopeo', { timeout: 120_000 }, () => {
  let server: AuthRegistry;
  let dir: string;
  before(async () => {
    server = await startAuthRegistry('htpasswd');
    dir = await mkdtemp(join(tmpdir(), 'berth-skopeo-auth-'));
    const client = new RegistryClient(server.hostPort, { insecure: true, credentials: { username: 'writer', password: passwords.writer! } });
    try {
      await pushImage(client, 'team/app', 'v1');
    } finally {
      await client.close();
    }
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a file skopeo logs in with', async () => {
    const file = join(dir, 'berth-written.json');
    await saveCredentials(server.hostPort, 'reader', passwords.reader!, { file });
    const { stdout } = await run('skopeo', ['list-tags', '--authfile', file, '--tls-verify=false', `docker://${server.hostPort}/team/app`], { timeout: 60_000 });
    assert.deepEqual((JSON.parse(stdout) as { Tags: string[] }).Tags, ['v1']);
  });

  it('reads the file skopeo login writes', async () => {
    const file = join(dir, 'skopeo-written.json');
    await run('skopeo', ['login', '--authfile', file, '--tls-verify=false', '-u', 'writer', '-p', passwords.writer!, server.hostPort], { timeout: 60_000 });
    const credentials = await readCredentials(server.hostPort, { file });
    assert.deepEqual(credentials, { username: 'writer', password: passwords.writer });
    const client = new RegistryClient(server.hostPort, { insecure: true, credentials });
    try {
      assert.deepEqual(await client.tags('team/app'), ['v1']);
    } finally {
      await client.close();
    }
  });
});
