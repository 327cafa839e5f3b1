// http.timeouts with the compiled CLI (bin/berth.js serve) and a real client: with short
// timeouts configured (idle 2s, header 1s, minrate after 1s), skopeo still pushes and pulls a
// multi-MiB image whole, while a client trickling its request head next to it is answered 408
// in the spec's format and logged.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureBuilt } from '../helpers/compiled-cli.js';
import { writeTestLayout } from '../helpers/image-layout.js';
import { openRaw, parseAnswer } from '../helpers/raw-connection.js';
import { freePort, spawnRegistry } from '../helpers/registry-server.js';
import { forgetKnownBlobs } from './support/clients.js';
import { defer, Diagnostics } from './support/run.js';

const diag = new Diagnostics();

before(() => ensureBuilt(), { timeout: 180_000 });

const config = (storage: string, port: number) =>
  [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  timeouts:',
    '    header: 1s',
    '    idle: 2s',
    '    minrate: 1024',
    '    minrategrace: 1s',
    '',
  ].join('\n');

test(
  'skopeo copies an image through Berth with short client timeouts, while a slowloris client is cut',
  { timeout: 180_000 },
  diag.explained(async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'berth-client-timeouts-'));
    defer(t, () => rm(work, { recursive: true, force: true }));
    const port = await freePort();
    const registry = await spawnRegistry('berth', config(join(work, 'storage'), port), work, port);
    defer(t, () => registry.stop());
    diag.watch({ name: `berth (${registry.hostPort})`, text: () => registry.output() }, t);

    const layout = join(work, 'layout');
    const image = await writeTestLayout(layout, [
      [{ name: 'big.bin', content: randomBytes(6 * 1024 * 1024) }],
      [{ name: 'small.txt', content: 'hello' }],
    ], 'v1');

    // A slowloris next to the real client: one header byte every 200 ms.
    const slow = await openRaw(port);
    slow.socket.write('GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    void slow.trickle('Z', 1000, 200);

    await forgetKnownBlobs();
    const target = `docker://${registry.hostPort}/timeouts/skopeo:v1`;
    await diag.run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, target], { timeoutMs: 90_000 });
    const pulled = join(work, 'pulled');
    await diag.run('skopeo', ['copy', '--src-tls-verify=false', target, `oci:${pulled}:v1`], { timeoutMs: 90_000 });
    for (const [digest, bytes] of image.blobs) {
      const back = await readFile(join(pulled, 'blobs', 'sha256', digest.slice('sha256:'.length)));
      assert.ok(back.equals(bytes), `${digest} came back whole`);
    }

    await slow.closed;
    const answer = parseAnswer(slow.received());
    assert.equal(answer.status, 408);
    assert.equal((answer.body as { errors: { code: string }[] }).errors.length, 1);
    assert.match(registry.output(), /request head not received within http.timeouts.header/);
  }),
);
