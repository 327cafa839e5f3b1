import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorCodes } from '../../src/protocol/errors.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { FaultyDriver, SeededRandom, type FaultOperation } from '../../src/storage/testing/faulty-driver.js';
import { expectError, fetchBody } from '../helpers/http.js';
import { digestOf, imageManifest, manifestBytes, mediaTypes, pushImage, putManifest as sendManifest, startUpload, uniqueBytes, withDigest } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { storageProblems } from '../helpers/storage-check.js';

/**
 * Berth over a storage driver that fails at random (seeded): pushes (monolithic and chunked),
 * pulls, manifest puts, tag lists and deletes, one after the other. Every answer must be the
 * normal success or a clean 5xx in the spec's error format: never a hang, a crash, a cut upload
 * or a non-JSON 500. Then, with faults off, the store must be consistent: every acknowledged
 * blob and manifest reads back with its digest, nothing half-written is visible, pushes work.
 *
 * Longer run: BERTH_FAULT_ROUNDS=200 [BERTH_FAULT_CLIENTS=4] [BERTH_FAULT_SEED=<seed>] \
 *   node --import tsx --test test/http/storage-faults.test.ts
 */

const seed = Number(process.env.BERTH_FAULT_SEED ?? randomInt(1, 2 ** 31));
const rounds = Number(process.env.BERTH_FAULT_ROUNDS ?? 12);
const operationsPerRound = 25;
const checkEvery = Math.max(1, Math.round(rounds / 12));
/** Chance that one storage call fails; a push makes about ten calls, so about half of them meet a fault. */
const faultProbability = 0.06;
const requestTimeoutMs = 15_000;
/** Concurrent clients, each on its own repository (more than one: faults no longer replay exactly). */
const clients = Number(process.env.BERTH_FAULT_CLIENTS ?? 1);
const repositories = Array.from({ length: Math.max(3, clients) }, (_, i) => `faults/r${i}`);

/** What the client knows of one piece of content: acknowledged, or maybe there after a failed call. */
type Knowledge = 'present' | 'uncertain';

interface RepositoryModel {
  blobs: Map<string, { bytes: Buffer; state: Knowledge }>;
  /** Blobs that no manifest names: the only ones deleted, so every manifest's blobs stay linked. */
  loose: Set<string>;
  /** Blobs some manifest named (or may have): never loose again, even when pushed once more. */
  referenced: Set<string>;
  manifests: Map<string, { bytes: Buffer; state: Knowledge }>;
  /** Each tag's possible targets; `absent` when a failed call may have removed it. */
  tags: Map<string, Set<string>>;
}

/** Figures for the report. */
const figures = {
  operations: 0,
  requests: 0,
  successes: 0,
  cleanErrors: 0,
  byStatus: new Map<number, number>(),
  /** Downloads cut after their headers: the connection is closed so no partial body passes for whole. */
  cutDownloads: 0,
  resumedChunks: 0,
  corruptions: 0,
  /** Full consistency checks made between rounds. */
  checks: 0,
};

const absent = 'absent';

test(`random storage faults give clean errors and leave a consistent store (seed ${seed})`, { timeout: 300_000 }, async (t) => {
  t.diagnostic(`seed ${seed}, ${rounds} rounds of ${operationsPerRound} operations, ${clients} client(s), fault probability ${faultProbability}`);
  const root = await mkdtemp(join(tmpdir(), 'berth-faults-'));
  const driver = new FaultyDriver(new FilesystemDriver(root), { seed, probability: faultProbability });
  const server = await startTestRegistry({ driver, deleteEnabled: true });
  t.after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });
  const model = new Map(repositories.map((name) => [name, emptyModel()]));
  const client = new Client(server, () => driver.enabled);

  for (let round = 0; round < rounds; round++) {
    // Each client has its own generator; with one client the whole run replays from the seed.
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const random = new SeededRandom((seed ^ 0x5bd1e995) + round * clients + c);
        for (let i = 0; i < Math.ceil(operationsPerRound / clients); i++) {
          const name = clients === 1 ? random.pick(repositories) : repositories[c]!;
          await randomOperation(client, random, name, model.get(name)!);
          figures.operations++;
        }
      }),
    );
    // Between rounds, with faults off: the store is consistent, and then faults go on again.
    // (About a dozen such checks per run: each reads everything back, so a long run checks less often.)
    if ((round + 1) % checkEvery !== 0 && round !== rounds - 1) continue;
    driver.enabled = false;
    for (const [name, repository] of model) {
      await listTags(client, name, repository);
      await checkRepository(client, name, repository);
    }
    for (const problem of await storageProblems(root)) corruption(`in storage after round ${round}: ${problem}`);
    figures.checks++;
    driver.enabled = true;
  }

  driver.enabled = false;
  // Service goes on: a new image pushes and pulls.
  const image = await pushImage(server.url, 'faults/after', 'v1');
  const pulled = await client.get(`/v2/faults/after/manifests/v1`, { accept: mediaTypes.ociManifest });
  assert.equal(pulled.status, 200);
  assert.equal(digestOf(pulled.body!), image.digest);

  const statuses = [...figures.byStatus].map(([status, count]) => `${status}×${count}`).join(' ');
  t.diagnostic(
    `operations ${figures.operations}, requests ${figures.requests}, storage calls ${driver.counts.calls}, ` +
      `injected faults ${driver.counts.faults} (${JSON.stringify(driver.counts.byKind)} ${JSON.stringify(driver.counts.byCode)}), successes ${figures.successes}, ` +
      `clean errors ${figures.cleanErrors} (${statuses}), downloads cut ${figures.cutDownloads}, ` +
      `chunks resumed ${figures.resumedChunks}, consistency checks ${figures.checks}, corruptions ${figures.corruptions}`,
  );
  assert.ok(driver.counts.faults > 0, 'faults were injected');
  assert.equal(figures.corruptions, 0);
});

/**
 * ENOSPC wherever storage reports it (a small file written, a rename into place, opening an
 * upload's data, a write part way through a chunk) is 507 (code UNKNOWN), and the same request
 * succeeds once there is room again.
 */
for (const operation of ['write', 'rename', 'open'] satisfies FaultOperation[]) {
  test(`ENOSPC on ${operation} answers 507 (code UNKNOWN), and the push works once space is freed`, { timeout: 60_000 }, async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'berth-enospc-'));
    const driver = new FaultyDriver(new FilesystemDriver(root), { seed, probability: 1, operations: [operation], codes: ['ENOSPC'] });
    driver.enabled = false;
    const server = await startTestRegistry({ driver });
    t.after(async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    });
    const name = `enospc/${operation}`;
    const blob = uniqueBytes(200_000);
    const monolithic = () =>
      fetch(`${server.url}/v2/${name}/blobs/uploads/?digest=${digestOf(blob)}`, { method: 'POST', body: fetchBody(blob) });
    // A session opened while there was room, then a chunk when there is none.
    const session = await startUpload(server.url, name);
    const chunk = () => fetch(session, { method: 'PATCH', headers: { 'Content-Range': `0-${blob.length - 1}` }, body: fetchBody(blob) });
    const image = await pushImage(server.url, name, 'v1');
    const manifest = { ...(JSON.parse(image.bytes.toString()) as object), annotations: { again: operation } };

    driver.enabled = true;
    // Opening a file to append is the only `open` a push makes: a chunk; a rename happens only as a blob is stored.
    await expectError(operation === 'open' ? await chunk() : await monolithic(), 507, 'UNKNOWN', { message: /storage is full/ });
    if (operation === 'write') {
      await expectError(await chunk(), 507, 'UNKNOWN');
      await expectError(await sendManifest(server.url, name, 'v2', manifest), 507, 'UNKNOWN');
    }
    assert.equal((await fetch(`${server.url}/v2/${name}/blobs/${digestOf(blob)}`, { method: 'HEAD' })).status, 404);
    assert.ok(driver.counts.byCode.ENOSPC > 0);

    driver.enabled = false;
    assert.equal((await monolithic()).status, 201);
    const status = await fetch(session);
    assert.equal(status.status, 204, 'the session outlives a failed chunk');
    const stored = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1] ?? 0);
    const rest = blob.subarray(stored === 0 ? 0 : stored + 1);
    const patched = await fetch(session, {
      method: 'PATCH',
      headers: { 'Content-Range': `${blob.length - rest.length}-${blob.length - 1}` },
      body: fetchBody(rest),
    });
    assert.equal(patched.status, 202, await patched.text());
    assert.equal((await fetch(withDigest(session, digestOf(blob)), { method: 'PUT' })).status, 201);
    assert.equal((await sendManifest(server.url, name, 'v2', manifest)).status, 201);
    assert.deepEqual(await storageProblems(root), []);
  });
}

function emptyModel(): RepositoryModel {
  return { blobs: new Map(), loose: new Set(), referenced: new Set(), manifests: new Map(), tags: new Map() };
}

/** An answer with its whole body read; `cut` when the connection closed during the body. */
interface Answer {
  status: number;
  headers: Headers;
  body?: Buffer;
  cut?: boolean;
}

/**
 * Sends requests and checks what every answer must be, whatever the faults: a success of the
 * expected status, or an error of the spec's format. Anything else fails the test at once.
 */
class Client {
  constructor(
    readonly server: TestRegistry,
    /** Figures count only requests made while faults are on (not the checks between rounds). */
    private readonly counting: () => boolean = () => false,
  ) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    return await this.send('GET', path, { headers, ok: [200, 404], download: true });
  }

  /**
   * One request. `ok` are the statuses of the normal outcome; a 5xx must be a spec error body.
   * Only a download may be cut (after its headers, when storage fails mid-stream).
   */
  async send(
    method: string,
    path: string,
    options: { ok: number[]; body?: Buffer; headers?: Record<string, string>; download?: boolean },
  ): Promise<Answer> {
    const count = this.counting();
    if (count) figures.requests++;
    const url = path.startsWith('http') ? path : `${this.server.url}${path}`;
    const response = await fetch(url, {
      method,
      headers: options.headers,
      body: options.body && fetchBody(options.body),
      signal: AbortSignal.timeout(requestTimeoutMs),
    }).catch((error: unknown) => {
      throw new Error(`${method} ${path}: no answer (the connection failed or hung)`, { cause: error });
    });
    let body: Buffer;
    try {
      body = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      assert.ok(options.download && response.status === 200, `${method} ${path}: body of ${response.status} cut: ${String(error)}`);
      if (count) figures.cutDownloads++;
      return { status: response.status, headers: response.headers, cut: true };
    }
    if (count) figures.byStatus.set(response.status, (figures.byStatus.get(response.status) ?? 0) + 1);
    if (options.ok.includes(response.status)) {
      if (count) figures.successes++;
    } else {
      assert.ok(response.status >= 500, `${method} ${path}: unexpected ${response.status} ${body.toString()}`);
      expectSpecError(response, body, `${method} ${path}`);
      if (count) figures.cleanErrors++;
    }
    if (response.status === 200 && options.download) {
      const length = Number(response.headers.get('content-length'));
      assert.equal(body.length, length, `${method} ${path}: body length differs from Content-Length`);
    }
    return { status: response.status, headers: response.headers, body };
  }
}

/** A 5xx body must be `{"errors":[{"code","message"[,"detail"]}]}` with a known code. */
function expectSpecError(response: Response, body: Buffer, what: string): void {
  assert.equal(response.headers.get('content-type'), 'application/json', `${what}: error is not JSON: ${body.toString()}`);
  const parsed = JSON.parse(body.toString()) as { errors?: { code?: unknown; message?: unknown }[] };
  assert.ok(Array.isArray(parsed.errors) && parsed.errors.length > 0, `${what}: no errors list in ${body.toString()}`);
  for (const entry of parsed.errors) {
    assert.ok(typeof entry.code === 'string' && entry.code in errorCodes, `${what}: unknown code in ${body.toString()}`);
    assert.ok(typeof entry.message === 'string' && entry.message.length > 0, `${what}: no message`);
  }
}

async function randomOperation(client: Client, random: SeededRandom, name: string, repository: RepositoryModel): Promise<void> {
  const choice = random.below(100);
  if (choice < 20) await pushMonolithic(client, random, name, repository);
  else if (choice < 38) await pushChunked(client, random, name, repository);
  else if (choice < 55) await putManifest(client, random, name, repository);
  else if (choice < 78) await pull(client, random, name, repository);
  else if (choice < 86) await listTags(client, name, repository);
  else await remove(client, random, name, repository);
}

/** Content of a random size, tagged with its own seed so runs are repeatable. */
function content(random: SeededRandom): Buffer {
  const size = random.pick([0, 1, 100, 4096, 70_000, 300_000]);
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = random.below(256);
  return bytes;
}

function remember(repository: RepositoryModel, bytes: Buffer, state: Knowledge): string {
  const digest = digestOf(bytes);
  const known = repository.blobs.get(digest);
  if (!known || known.state === 'uncertain') repository.blobs.set(digest, { bytes, state });
  if (!repository.referenced.has(digest)) repository.loose.add(digest);
  return digest;
}

async function pushMonolithic(client: Client, random: SeededRandom, name: string, repository: RepositoryModel): Promise<void> {
  const bytes = content(random);
  const answer = await client.send('POST', `/v2/${name}/blobs/uploads/?digest=${digestOf(bytes)}`, { ok: [201], body: bytes });
  remember(repository, bytes, answer.status === 201 ? 'present' : 'uncertain');
}

/**
 * POST, PATCHes with Content-Range, PUT ?digest=. After a failed PATCH the client asks how far
 * the upload got and resumes from there, as the spec allows: what reached storage must count.
 */
async function pushChunked(client: Client, random: SeededRandom, name: string, repository: RepositoryModel): Promise<void> {
  const bytes = content(random);
  const started = await client.send('POST', `/v2/${name}/blobs/uploads/`, { ok: [202] });
  if (started.status !== 202) return;
  let location = new URL(started.headers.get('location')!, client.server.url).toString();
  let offset = 0;
  const chunkSize = Math.max(1, Math.ceil(bytes.length / (1 + random.below(3))));
  for (let attempts = 0; offset < bytes.length && attempts < 8; attempts++) {
    const chunk = bytes.subarray(offset, offset + chunkSize);
    const patched = await client.send('PATCH', location, {
      // 416: `Range: 0-0` means both 0 and 1 bytes, so a resume after one stored byte may start
      // one byte early; the answer's detail says where the upload really is.
      ok: [202, 416],
      body: chunk,
      headers: { 'Content-Range': `${offset}-${offset + chunk.length - 1}`, 'Content-Type': 'application/octet-stream' },
    });
    if (patched.status === 202) {
      location = new URL(patched.headers.get('location')!, location).toString();
      offset = rangeEnd(patched.headers.get('range'));
      continue;
    }
    if (patched.status === 416) {
      const { errors } = JSON.parse(patched.body!.toString()) as { errors: { detail: { offset: number } }[] };
      offset = errors[0]!.detail.offset;
      continue;
    }
    const status = await client.send('GET', location, { ok: [204] });
    if (status.status !== 204) return;
    offset = rangeEnd(status.headers.get('range'));
    assert.ok(offset <= bytes.length, `upload reports ${offset} bytes, more than the ${bytes.length} sent`);
    figures.resumedChunks++;
  }
  if (offset < bytes.length) return;
  const url = new URL(location);
  url.searchParams.set('digest', digestOf(bytes));
  const done = await client.send('PUT', url.toString(), { ok: [201] });
  remember(repository, bytes, done.status === 201 ? 'present' : 'uncertain');
}

/** The upload's byte count from a `Range: 0-<last>` header (`0-0` also for empty). */
function rangeEnd(range: string | null): number {
  const match = /^0-(\d+)$/.exec(range ?? '');
  assert.ok(match, `bad Range header ${range}`);
  const last = Number(match[1]);
  return last === 0 ? 0 : last + 1;
}

async function putManifest(client: Client, random: SeededRandom, name: string, repository: RepositoryModel): Promise<void> {
  const present = [...repository.blobs].filter(([, blob]) => blob.state === 'present');
  if (present.length < 2) return await pushMonolithic(client, random, name, repository);
  const [configDigest, config] = random.pick(present);
  const [layerDigest, layer] = random.pick(present);
  const manifest = imageManifest(
    { mediaType: mediaTypes.ociConfig, digest: configDigest, size: config.bytes.length },
    [{ mediaType: mediaTypes.ociLayer, digest: layerDigest, size: layer.bytes.length }],
    { annotations: { nonce: String(random.below(1000)) } },
  );
  const bytes = manifestBytes(manifest);
  const digest = digestOf(bytes);
  const tag = random.next() < 0.7 ? `t${random.below(6)}` : undefined;
  const answer = await client.send('PUT', `/v2/${name}/manifests/${tag ?? digest}`, {
    ok: [201],
    body: bytes,
    headers: { 'Content-Type': mediaTypes.ociManifest },
  });
  const acknowledged = answer.status === 201;
  for (const digest of [configDigest, layerDigest]) {
    repository.loose.delete(digest);
    repository.referenced.add(digest);
  }
  const known = repository.manifests.get(digest);
  if (!known || known.state === 'uncertain') repository.manifests.set(digest, { bytes, state: acknowledged ? 'present' : 'uncertain' });
  if (tag) {
    const targets = repository.tags.get(tag) ?? new Set([absent]);
    repository.tags.set(tag, acknowledged ? new Set([digest]) : targets.add(digest));
  }
}

async function pull(client: Client, random: SeededRandom, name: string, repository: RepositoryModel): Promise<void> {
  const kind = random.below(3);
  if (kind === 0 && repository.blobs.size > 0) {
    const [digest, blob] = random.pick([...repository.blobs]);
    const answer = await client.get(`/v2/${name}/blobs/${digest}`);
    checkRead(answer, blob.state, digest, `blob ${digest}`);
  } else if (kind === 1 && repository.manifests.size > 0) {
    const [digest, manifest] = random.pick([...repository.manifests]);
    const answer = await client.get(`/v2/${name}/manifests/${digest}`, { accept: mediaTypes.ociManifest });
    checkRead(answer, manifest.state, digest, `manifest ${digest}`);
  } else if (repository.tags.size > 0) {
    const [tag, targets] = random.pick([...repository.tags]);
    const answer = await client.get(`/v2/${name}/manifests/${tag}`, { accept: mediaTypes.ociManifest });
    if (answer.status === 200 && answer.body) {
      const digest = digestOf(answer.body);
      if (!targets.has(digest)) corruption(`tag ${name}:${tag} gave ${digest}, not one of ${[...targets].join(', ')}`);
    } else if (answer.status === 404 && !targets.has(absent)) {
      corruption(`tag ${name}:${tag} is gone though no call that could remove it was made`);
    }
  }
}

/** A read of content the client pushed: its exact bytes, or a clean failure; 404 only when uncertain. */
function checkRead(answer: Answer, state: Knowledge, digest: string, what: string): void {
  if (answer.status === 200 && answer.body) {
    if (digestOf(answer.body) !== digest) corruption(`${what} served with digest ${digestOf(answer.body)}`);
  } else if (answer.status === 404 && state === 'present') {
    corruption(`${what} was acknowledged but is not found`);
  }
}

async function listTags(client: Client, name: string, repository: RepositoryModel): Promise<void> {
  const catalog = await client.get('/v2/_catalog');
  if (catalog.status === 200 && catalog.body && [...repository.blobs.values()].some((blob) => blob.state === 'present')) {
    const names = (JSON.parse(catalog.body.toString()) as { repositories: string[] }).repositories;
    if (!names.includes(name)) corruption(`repository ${name} holds acknowledged blobs but is not in the catalog`);
  }
  const answer = await client.get(`/v2/${name}/tags/list`);
  if (answer.status !== 200 || !answer.body) return;
  const listed = new Set((JSON.parse(answer.body.toString()) as { tags: string[] | null }).tags ?? []);
  for (const [tag, targets] of repository.tags) {
    if (!targets.has(absent) && !listed.has(tag)) corruption(`tag ${name}:${tag} missing from the tag list`);
  }
}

/** Deletes a manifest by digest, a tag, or a blob no manifest names. */
async function remove(client: Client, random: SeededRandom, name: string, repository: RepositoryModel): Promise<void> {
  const kind = random.below(3);
  if (kind === 0 && repository.manifests.size > 0) {
    const [digest, manifest] = random.pick([...repository.manifests]);
    const answer = await client.send('DELETE', `/v2/${name}/manifests/${digest}`, { ok: [202, 404] });
    if (answer.status === 404 && manifest.state === 'present') corruption(`manifest ${digest} acknowledged but not found for delete`);
    if (answer.status === 202 || answer.status === 404) repository.manifests.delete(digest);
    else manifest.state = 'uncertain';
    for (const [tag, targets] of repository.tags) {
      if (!targets.has(digest)) continue;
      if (answer.status === 202 || answer.status === 404) targets.delete(digest);
      targets.add(absent);
      if (targets.size === 1) repository.tags.delete(tag);
    }
  } else if (kind === 1 && repository.tags.size > 0) {
    const [tag, targets] = random.pick([...repository.tags]);
    const answer = await client.send('DELETE', `/v2/${name}/manifests/${tag}`, { ok: [202, 404] });
    if (answer.status === 404 && !targets.has(absent)) corruption(`tag ${tag} acknowledged but not found for delete`);
    if (answer.status === 202 || answer.status === 404) repository.tags.delete(tag);
    else targets.add(absent);
  } else if (repository.loose.size > 0) {
    const digest = random.pick([...repository.loose]);
    const blob = repository.blobs.get(digest)!;
    const answer = await client.send('DELETE', `/v2/${name}/blobs/${digest}`, { ok: [202, 404] });
    if (answer.status === 404 && blob.state === 'present') corruption(`blob ${digest} acknowledged but not found for delete`);
    if (answer.status === 202 || answer.status === 404) {
      repository.blobs.delete(digest);
      repository.loose.delete(digest);
    } else {
      blob.state = 'uncertain';
    }
  }
}

/** With faults off: everything acknowledged reads back, tags lead to manifests, manifests to blobs. */
async function checkRepository(client: Client, name: string, repository: RepositoryModel): Promise<void> {
  for (const [digest, blob] of repository.blobs) {
    checkRead(await client.get(`/v2/${name}/blobs/${digest}`), blob.state, digest, `blob ${name}@${digest}`);
  }
  for (const [digest, manifest] of repository.manifests) {
    const answer = await client.get(`/v2/${name}/manifests/${digest}`, { accept: mediaTypes.ociManifest });
    checkRead(answer, manifest.state, digest, `manifest ${name}@${digest}`);
    if (answer.status === 200) await checkReferencedBlobs(client, name, answer.body!);
  }
  const list = await client.get(`/v2/${name}/tags/list`);
  const listed = list.status === 200 ? ((JSON.parse(list.body!.toString()) as { tags: string[] | null }).tags ?? []) : [];
  for (const tag of listed) {
    const answer = await client.get(`/v2/${name}/manifests/${tag}`, { accept: mediaTypes.ociManifest });
    if (answer.status !== 200) corruption(`tag ${name}:${tag} is listed but its manifest answers ${answer.status}`);
    else await checkReferencedBlobs(client, name, answer.body!);
  }
  for (const [tag, targets] of repository.tags) {
    if (!targets.has(absent) && !listed.includes(tag)) corruption(`tag ${name}:${tag} acknowledged but not listed`);
  }
}

async function checkReferencedBlobs(client: Client, name: string, manifest: Buffer): Promise<void> {
  const parsed = JSON.parse(manifest.toString()) as { config: { digest: string }; layers: { digest: string }[] };
  for (const { digest } of [parsed.config, ...parsed.layers]) {
    const answer = await client.get(`/v2/${name}/blobs/${digest}`);
    if (answer.status !== 200 || digestOf(answer.body!) !== digest) corruption(`manifest of ${name} names ${digest}, which answers ${answer.status}`);
  }
}

function corruption(message: string): void {
  figures.corruptions++;
  assert.fail(`seed ${seed}: ${message}`);
}
