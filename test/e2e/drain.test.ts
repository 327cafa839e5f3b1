// http.draintimeout: on SIGTERM Berth (bin/berth.js serve) stops accepting connections, lets the
// requests in flight finish within the drain time, cuts the rest, and exits 0.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { digestOf } from '../helpers/push.js';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-drain-'));
});
after(() => rm(work, { recursive: true, force: true }));

const config = (storage: string, port: number, drain: string) =>
  `version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\nhttp:\n  addr: 127.0.0.1:${port}\n  draintimeout: ${drain}\n`;

async function start(name: string, drain: string): Promise<SpawnedRegistry> {
  const port = await freePort();
  return await spawnRegistry('berth', config(join(work, name), port, drain), work, port);
}

/** A monolithic upload (POST ?digest=) whose chunked body is written by the test, piece by piece. */
function openUpload(registry: SpawnedRegistry, repo: string, digest: string): { req: ClientRequest; answer: Promise<IncomingMessage> } {
  const { port } = new URL(registry.url);
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/v2/${repo}/blobs/uploads/?digest=${digest}`, agent: false });
  req.flushHeaders();
  const answer = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  return { req, answer };
}

/** Waits until the registry refuses new connections (it has seen the signal). */
async function untilRefusing(registry: SpawnedRegistry): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await (await fetch(`${registry.url}/v2/`)).arrayBuffer();
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`still accepting after SIGTERM:\n${registry.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/** Lets the request reach the server's handler before the signal: the first piece of the body has to be read. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('http.draintimeout', { timeout: 60_000 }, () => {
  test('an upload in flight at SIGTERM finishes within the drain time, then the process exits 0', async () => {
    const registry = await start('finish', '20s');
    try {
      const content = randomBytes(2 * 1024 * 1024);
      const digest = digestOf(content);
      const upload = openUpload(registry, 'drain/ok', digest);
      upload.req.write(content.subarray(0, 1024 * 1024));
      await settle();
      registry.process.kill('SIGTERM');
      await untilRefusing(registry);
      upload.req.end(content.subarray(1024 * 1024));
      const answer = await upload.answer;
      answer.resume();
      assert.equal(answer.statusCode, 201, registry.output());
      assert.equal(answer.headers['docker-content-digest'], digest);
      assert.equal(await exitOf(registry.process), 0, registry.output());

      // The blob was committed: a registry on the same storage serves it.
      const again = await start('finish', '1s');
      try {
        const head = await fetch(`${again.url}/v2/drain/ok/blobs/${digest}`, { method: 'HEAD' });
        assert.equal(head.status, 200);
      } finally {
        await again.stop();
      }
    } finally {
      await registry.stop();
    }
  });

  test('an upload still running when the drain time is over is cut, and the process still exits 0', async () => {
    const registry = await start('cut', '1s');
    try {
      const content = randomBytes(1024 * 1024);
      const upload = openUpload(registry, 'drain/cut', digestOf(content));
      const outcome = upload.answer.then(
        (answer) => `answered ${answer.statusCode}`,
        (error: Error) => error.message,
      );
      upload.req.write(content.subarray(0, 1000));
      await settle();
      registry.process.kill('SIGTERM');
      assert.equal(await exitOf(registry.process), 0, registry.output());
      assert.match(await outcome, /socket hang up|ECONNRESET|EPIPE/);
      assert.match(registry.output(), /requests still in flight were cut/);
    } finally {
      await registry.stop();
    }
  });
});
