// The crash-consistency soak (issue #9): Berth runs as its own process over a filesystem store
// and is killed with SIGKILL at random moments, and on purpose in the middle of a blob chunk and
// just after a manifest PUT's body went out, while pushers and pullers work; after each kill it
// is started again on the same storage and port. Clients resume their uploads (GET on the session
// URL for its offset, then PATCH on from there) or start them again when the session is gone.
// Every body served is checked against its digest throughout. Shared by test/e2e/crash-soak.test.ts
// (CI size) and scripts/crash-soak.sh (longer runs).
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, opendir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { RegistryClient } from '../../../src/client/registry-client.js';
import { temporaryPrefix } from '../../../src/storage/driver.js';
import { berthBin } from '../../helpers/compiled-cli.js';
import { Random } from '../../helpers/fuzz/random.js';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../../helpers/registry-server.js';
import { ociManifestType, readLayoutBlob, readLayoutManifest, sha256 } from './oci.js';
import { run } from './run.js';

export interface CrashSoakOptions {
  /** Drives the kill schedule, the kinds of kill, blob sizes and which images are checked. */
  seed: number;
  /** SIGKILLs to deliver (each followed by a restart). */
  kills: number;
  /** Pushers; as many pullers run beside them. */
  clients: number;
  /** The kill phase ends after this long even if not every kill was delivered. */
  maxKillPhaseMs: number;
  /** Acknowledged images skopeo copies out to an OCI layout at the end. */
  skopeoImages: number;
  /** A scratch directory (storage, configs, layouts); the caller removes it. */
  workDir: string;
  /** Progress lines (one per kill). */
  log?: (line: string) => void;
}

export type KillKind = 'random' | 'mid-blob' | 'mid-manifest';

/** What a soak did and found. lost, wrongContent and acknowledgedMissing must be 0. */
export interface CrashSoakFigures {
  seed: number;
  kills: Record<KillKind, number>;
  /** Starts that answered /v2/: the first, one per kill, the cleanup run and the one after it. */
  restarts: number;
  pushesAttempted: number;
  pushesAcknowledged: number;
  /** Images abandoned after too many failed attempts (registry down for too long). */
  pushesAbandoned: number;
  blobUploads: number;
  /** Sessions that survived a kill and went on from the offset the restarted registry reported. */
  uploadsResumed: number;
  /** ... of which with bytes already stored (offset > 0). */
  uploadsResumedMidBlob: number;
  /** Sessions gone after a kill (killed during their creation or completion): started again. */
  uploadsRestarted: number;
  /** Closing PUTs refused with DIGEST_INVALID: stored bytes that were not what was sent. */
  digestInvalid: number;
  /** Successful GET bodies (manifests and blobs) checked against their digest during the soak. */
  bodiesChecked: number;
  /** Bodies whose digest was not the one asked for or acknowledged. */
  wrongContent: number;
  /** GETs of acknowledged content that answered 404 during the soak. */
  acknowledgedMissing: number;
  /** 5xx answers seen by any client, with the first few for the report. */
  serverErrors: number;
  serverErrorSamples: string[];
  /** Images pulled in full with every digest checked after the last kill, and after cleanup. */
  verified: number;
  lost: number;
  lostSamples: string[];
  /** Acknowledged images copied out with skopeo and checked. */
  skopeoVerified: number;
  /** Temporary files and upload sessions on disk after the last kill, before the cleanup ran. */
  temporariesBefore: number;
  uploadSessionsBefore: number;
  /** What `berth garbage-collect --dry-run` counted as stale temporaries (offline). */
  gcDryRunTemporaries: number;
  temporariesAfter: number;
  uploadSessionsAfter: number;
  /** Tags listed after the cleanup whose push was never acknowledged (a kill cut off its 201). */
  tagsUnacknowledged: number;
  /** Repositories or tags listed after the cleanup that no pusher ever sent: must be 0. */
  unknownListed: number;
  /** A push made after the cleanup was acknowledged and pulled back. */
  pushAfterCleanup: boolean;
  durationMs: number;
}

const chunkSize = 64 * 1024;
const maxLayerBytes = 320 * 1024;
/** Attempts per request before an operation gives up (a restart takes well under a second). */
const maxAttempts = 40;
const requestTimeoutMs = 20_000;
/** How long an armed mid-blob or mid-manifest kill waits for its moment before killing anyway. */
const aimTimeoutMs = 5_000;
const layerType = 'application/vnd.oci.image.layer.v1.tar+gzip';
const configType = 'application/vnd.oci.image.config.v1+json';

interface Blob {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

interface Image {
  repository: string;
  tag: string;
  config: Blob;
  layers: Blob[];
  manifest: Buffer;
  digest: string;
}

/** Runs one soak and returns its figures; throws only when the setup itself fails. */
export async function runCrashSoak(options: CrashSoakOptions): Promise<CrashSoakFigures> {
  const started = Date.now();
  const soak = new Soak(options);
  try {
    return await soak.run(started);
  } finally {
    await soak.close();
  }
}

/** The Berth process, killed and restarted on one port and storage directory. */
class KilledRegistry {
  private current: SpawnedRegistry | undefined;
  private upSignal: Promise<void> = Promise.resolve();
  private markUp: () => void = () => {};
  restarts = 0;

  constructor(
    readonly port: number,
    readonly storageDir: string,
    private readonly workDir: string,
  ) {}

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  config(purgeUploads: boolean): string {
    return [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${this.storageDir}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      // During the soak no session may be purged from under a client; the cleanup run purges
      // whatever is older than a second, every second.
      `      enabled: ${purgeUploads}`,
      '      age: 1s',
      '      interval: 1s',
      'http:',
      `  addr: 127.0.0.1:${this.port}`,
      '',
    ].join('\n');
  }

  /** Resolves when the registry answers (at once if it does now). */
  whenUp(): Promise<void> {
    return this.upSignal;
  }

  async start(purgeUploads = false): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        this.current = await spawnRegistry('berth', this.config(purgeUploads), this.workDir, this.port);
        this.restarts++;
        this.markUp();
        return;
      } catch (error) {
        // The port can still be held for a moment by the dying process's sockets.
        lastError = error;
        await sleep(200);
      }
    }
    throw lastError;
  }

  /** SIGKILL; resolves once the process is gone. Clients wait on whenUp() from this moment. */
  async kill(): Promise<void> {
    this.markDown();
    const child = this.current?.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (drains), for the restart with cleanup on. */
  async stop(): Promise<void> {
    this.markDown();
    await this.current?.stop();
  }

  output(): string {
    return this.current?.output() ?? '';
  }

  private markDown(): void {
    this.upSignal = new Promise((resolve) => (this.markUp = resolve));
  }
}

/** Hooks the killer sets to catch a pusher at a chosen moment. */
interface Aim {
  kind: Exclude<KillKind, 'random'>;
  /** Called by the pusher at that moment; resolves once the registry was killed. */
  fire: () => Promise<void>;
}

class Soak {
  private readonly random: Random;
  private started: KilledRegistry | undefined;
  private readonly acknowledged: Image[] = [];
  /** Images being pushed: their content may be served already, and must then be right. */
  private readonly pushing = new Set<Image>();
  /** Every image a pusher tried, by `repository:tag`. */
  private readonly attempted = new Map<string, Image>();
  private readonly clients: RegistryClient[] = [];
  private aim: Aim | undefined;
  private stopping = false;
  private readonly figures: CrashSoakFigures;

  constructor(private readonly options: CrashSoakOptions) {
    this.random = new Random(options.seed);
    this.figures = {
      seed: options.seed,
      kills: { random: 0, 'mid-blob': 0, 'mid-manifest': 0 },
      restarts: 0,
      pushesAttempted: 0,
      pushesAcknowledged: 0,
      pushesAbandoned: 0,
      blobUploads: 0,
      uploadsResumed: 0,
      uploadsResumedMidBlob: 0,
      uploadsRestarted: 0,
      digestInvalid: 0,
      bodiesChecked: 0,
      wrongContent: 0,
      acknowledgedMissing: 0,
      serverErrors: 0,
      serverErrorSamples: [],
      verified: 0,
      lost: 0,
      lostSamples: [],
      skopeoVerified: 0,
      temporariesBefore: 0,
      uploadSessionsBefore: 0,
      gcDryRunTemporaries: 0,
      temporariesAfter: 0,
      uploadSessionsAfter: 0,
      tagsUnacknowledged: 0,
      unknownListed: 0,
      pushAfterCleanup: false,
      durationMs: 0,
    };
  }

  async run(started: number): Promise<CrashSoakFigures> {
    const port = await freePort();
    this.started = new KilledRegistry(port, join(this.options.workDir, 'storage'), this.options.workDir);
    await this.registry.start();
    const log = (line: string) => this.options.log?.(`${((Date.now() - started) / 1000).toFixed(1)} s: ${line}`);
    log(`crash soak: seed ${this.options.seed}, ${this.options.kills} kills, ${this.options.clients} pushers and pullers, port ${port}`);

    const pushers = Array.from({ length: this.options.clients }, (_, i) => this.pusher(i));
    const pullers = Array.from({ length: this.options.clients }, (_, i) => this.puller(i));
    await this.killPhase(started, log);
    this.stopping = true;
    await Promise.all([...pushers, ...pullers]);

    // After the last restart: everything acknowledged pulls in full; skopeo agrees.
    log(`clients stopped; verifying ${this.acknowledged.length} acknowledged images`);
    await this.verifyAll('after the last kill');
    log(`${this.figures.verified} verified; skopeo next`);
    await this.skopeoCopies();
    log(`${this.figures.verified} verified, ${this.figures.skopeoVerified} also with skopeo; cleanup run next`);

    // Leftovers of the kills, then the cleanup: offline count by garbage-collect, then a
    // restart with purging on, which must remove every temporary and abandoned session.
    await this.registry.stop();
    const before = await this.leftovers();
    this.figures.temporariesBefore = before.temporaries;
    this.figures.uploadSessionsBefore = before.uploadSessions;
    this.figures.gcDryRunTemporaries = await this.gcDryRunTemporaries();
    await sleep(1100); // older than the purge age of the cleanup run
    await this.registry.start(true);
    const deadline = Date.now() + 15_000;
    let left = await this.leftovers();
    while ((left.temporaries > 0 || left.uploadSessions > 0) && Date.now() < deadline) {
      await sleep(200);
      left = await this.leftovers();
    }
    this.figures.temporariesAfter = left.temporaries;
    this.figures.uploadSessionsAfter = left.uploadSessions;
    // Back to the soak's settings: a purge age of a second would take sessions from under the
    // push below on a slow machine.
    await this.registry.stop();
    await this.registry.start();
    log(`cleanup: ${this.figures.temporariesBefore} temporaries and ${this.figures.uploadSessionsBefore} sessions before, ${left.temporaries} and ${left.uploadSessions} after`);
    this.figures.verified = 0;
    await this.verifyAll('after cleanup');
    await this.checkListings();
    this.figures.pushAfterCleanup = await this.pushAfterCleanup();
    this.figures.restarts = this.registry.restarts;
    this.figures.durationMs = Date.now() - started;
    return this.figures;
  }

  private get registry(): KilledRegistry {
    if (!this.started) throw new Error('the soak has not started its registry');
    return this.started;
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.started?.kill();
    for (const client of this.clients) await client.close();
  }

  /** The kills: each waits a seeded time (or for its aimed moment), kills, and restarts. */
  private async killPhase(started: number, log: (line: string) => void): Promise<void> {
    const kinds: KillKind[] = ['random', 'mid-blob', 'mid-manifest'];
    for (let n = 0; n < this.options.kills; n++) {
      if (Date.now() - started > this.options.maxKillPhaseMs) break;
      // Let the clients get going again (and some pushes complete) before the next kill.
      await sleep(this.random.between(300, 1200));
      let kind = kinds[n % kinds.length]!;
      if (kind === 'random') {
        await sleep(this.random.between(0, 800));
        await this.registry.kill();
      } else if (!(await this.aimedKill(kind))) {
        kind = 'random';
        await this.registry.kill();
      }
      this.figures.kills[kind]++;
      log(`kill ${n + 1}/${this.options.kills} (${kind}): ${this.figures.pushesAcknowledged} pushes acknowledged so far`);
      await sleep(this.random.between(0, 300));
      await this.registry.start();
    }
  }

  /** Arms a hook for the pushers and waits until one fires it; false when none did in time. */
  private async aimedKill(kind: Aim['kind']): Promise<boolean> {
    let fired!: () => void;
    const done = new Promise<void>((resolve) => (fired = resolve));
    const delay = this.random.between(0, 20);
    this.aim = {
      kind,
      fire: async () => {
        this.aim = undefined;
        // A moment for the registry to read what was sent (and start writing it).
        await sleep(delay);
        await this.registry.kill();
        fired();
      },
    };
    const aim = this.aim;
    const outcome = await Promise.race([done.then(() => 'fired' as const), sleep(aimTimeoutMs).then(() => 'late' as const)]);
    if (outcome === 'fired') return true;
    if (this.aim === aim) {
      this.aim = undefined;
      return false;
    }
    // A pusher took it just now: its kill is under way.
    await done;
    return true;
  }

  /** A hook for `kind`, taken by the first pusher to reach that moment. */
  private takeAim(kind: Aim['kind']): Aim | undefined {
    const aim = this.aim;
    if (aim?.kind !== kind) return undefined;
    this.aim = undefined;
    return aim;
  }

  private client(): RegistryClient {
    const client = new RegistryClient(this.registry.hostPort, { insecure: true });
    this.clients.push(client);
    return client;
  }

  /**
   * One request, again after each failure to get an answer (the registry was killed: wait for
   * it to be back). A 5xx is recorded and retried too. Throws after maxAttempts.
   */
  private async request(
    client: RegistryClient,
    method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    path: string,
    options: { headers?: Record<string, string> } = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await client.request(method, path, {
          headers: options.headers,
          body: null,
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        const body = await readBody(response.body);
        if (response.status >= 500) {
          this.recordServerError(`${method} ${path}: ${response.status} ${body.toString('utf8').slice(0, 200)}`);
          throw new Error(`server error ${response.status}`);
        }
        return { status: response.status, headers: response.headers, body };
      } catch (error) {
        if (attempt >= maxAttempts) throw error;
        await this.registry.whenUp();
        await sleep(20);
      }
    }
  }

  private recordServerError(sample: string): void {
    this.figures.serverErrors++;
    if (this.figures.serverErrorSamples.length < 5) this.figures.serverErrorSamples.push(sample);
  }

  private makeImage(pusher: number, n: number, random: Random): Image {
    // Compressed layers, as images have: skopeo keeps them as they are (it would compress
    // uncompressed ones on the way to a layout, and so change their digests).
    const contents = Array.from({ length: random.between(1, 3) }, () => randomBytes(random.between(1, maxLayerBytes)));
    const layers = contents.map((content) => blob(gzipSync(content, { level: 1 }), layerType));
    const diffIds = contents.map((content) => sha256(content));
    const config = blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, config: {} })), configType);
    const describe = (b: Blob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.bytes.length });
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: ociManifestType, config: describe(config), layers: layers.map(describe) }));
    return { repository: `crash/p${pusher}`, tag: `t${n}`, config, layers, manifest, digest: sha256(manifest) };
  }

  private async pusher(index: number): Promise<void> {
    const client = this.client();
    const random = new Random(this.options.seed + 1000 * (index + 1));
    for (let n = 0; !this.stopping; n++) {
      const image = this.makeImage(index, n, random);
      this.figures.pushesAttempted++;
      this.pushing.add(image);
      this.attempted.set(`${image.repository}:${image.tag}`, image);
      try {
        for (const b of [...image.layers, image.config]) await this.uploadBlob(client, image.repository, b);
        await this.putManifest(client, image);
        this.acknowledged.push(image);
        this.figures.pushesAcknowledged++;
      } catch {
        this.figures.pushesAbandoned++;
      } finally {
        this.pushing.delete(image);
      }
    }
  }

  /**
   * A chunked upload that survives kills: after a failed PATCH or closing PUT it asks the
   * session for its offset and goes on from there, or starts a new session when the registry
   * no longer knows it.
   */
  private async uploadBlob(client: RegistryClient, repository: string, b: Blob): Promise<void> {
    this.figures.blobUploads++;
    const size = b.bytes.length;
    const open = async () => {
      const answer = await this.request(client, 'POST', `/v2/${repository}/blobs/uploads/`);
      if (answer.status !== 202) throw new Error(`POST upload: ${answer.status}`);
      return String(answer.headers.location);
    };
    let location = await open();
    let offset = 0;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      try {
        while (offset < size) {
          const end = Math.min(offset + chunkSize, size);
          const chunk = b.bytes.subarray(offset, end);
          const aim = this.takeAim('mid-blob');
          const response = await client.request('PATCH', location, {
            headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${end - 1}`, 'content-length': String(chunk.length) },
            body: aim ? halves(chunk, aim.fire) : chunk,
            signal: AbortSignal.timeout(requestTimeoutMs),
          });
          const body = await readBody(response.body);
          if (response.status === 404) throw new SessionGone();
          if (response.status === 416) {
            // Out of step with the session (its `0-0` was 1 byte, not none): go on from its count.
            offset = Number((JSON.parse(body.toString('utf8')) as { errors: { detail: { offset: number } }[] }).errors[0]!.detail.offset);
            continue;
          }
          if (response.status >= 500) this.recordServerError(`PATCH ${location}: ${response.status} ${body.toString('utf8').slice(0, 200)}`);
          if (response.status !== 202) throw new Error(`PATCH: ${response.status}`);
          location = String(response.headers.location ?? location);
          offset = storedBytes(response.headers.range) ?? end;
        }
        const put = await client.request('PUT', withDigest(location, b.digest), {
          headers: { 'content-type': 'application/octet-stream', 'content-length': '0' },
          body: null,
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        const body = await readBody(put.body);
        if (put.status === 201) return;
        if (put.status === 404) throw new SessionGone();
        if (put.status === 400 && body.toString('utf8').includes('DIGEST_INVALID')) {
          // The stored bytes were not the ones sent: a resume went wrong. Counted, then redone.
          this.figures.digestInvalid++;
          throw new SessionGone();
        }
        if (put.status >= 500) this.recordServerError(`PUT ${location}: ${put.status} ${body.toString('utf8').slice(0, 200)}`);
        throw new Error(`closing PUT: ${put.status}`);
      } catch (error) {
        await this.registry.whenUp();
        if (!(error instanceof SessionGone)) {
          // Did the closing PUT land before the kill? Then the blob is there.
          const head = await this.request(client, 'HEAD', `/v2/${repository}/blobs/${b.digest}`);
          if (head.status === 200) return;
          const status = await this.request(client, 'GET', location);
          if (status.status === 204) {
            offset = storedBytes(status.headers.range) ?? 0;
            location = String(status.headers.location ?? location);
            this.figures.uploadsResumed++;
            if (offset > 0) this.figures.uploadsResumedMidBlob++;
            continue;
          }
        }
        this.figures.uploadsRestarted++;
        location = await open();
        offset = 0;
      }
    }
    throw new Error(`blob ${b.digest}: gave up after ${maxAttempts} attempts`);
  }

  /** PUTs the manifest until an answer comes; the push counts only with 201. */
  private async putManifest(client: RegistryClient, image: Image): Promise<void> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const aim = this.takeAim('mid-manifest');
      try {
        const response = await client.request('PUT', `/v2/${image.repository}/manifests/${image.tag}`, {
          headers: { 'content-type': ociManifestType, 'content-length': String(image.manifest.length) },
          body: aim ? thenFire(image.manifest, aim.fire) : image.manifest,
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        const body = await readBody(response.body);
        if (response.status === 201) {
          if (response.headers['docker-content-digest'] !== image.digest) this.figures.wrongContent++;
          return;
        }
        if (response.status >= 500) this.recordServerError(`PUT manifest: ${response.status} ${body.toString('utf8').slice(0, 200)}`);
        throw new Error(`manifest PUT: ${response.status} ${body.toString('utf8').slice(0, 200)}`);
      } catch {
        await this.registry.whenUp();
      }
    }
    throw new Error(`manifest ${image.repository}:${image.tag}: gave up`);
  }

  /** GETs acknowledged and in-flight content at random, checking every body it gets. */
  private async puller(index: number): Promise<void> {
    const client = this.client();
    const random = new Random(this.options.seed + 7919 * (index + 1));
    while (!this.stopping) {
      const image = this.acknowledged.length > 0 ? random.pick(this.acknowledged) : undefined;
      try {
        if (!image) {
          await sleep(50);
          continue;
        }
        await this.checkImage(client, image, random);
        // Pushes in progress: their manifest and blobs absent or whole, never a prefix or
        // another's bytes (a push whose answer a kill cut off may be complete already).
        const pending = [...this.pushing];
        if (pending.length > 0) await this.checkPending(client, random.pick(pending), random);
      } catch {
        // The registry went away in the middle: wait for it, go on.
        await this.registry.whenUp();
      }
    }
  }

  /** One acknowledged image: manifest by tag and by digest, and a blob, all digest-checked. */
  private async checkImage(client: RegistryClient, image: Image, random: Random): Promise<void> {
    const reference = random.chance(0.5) ? image.tag : image.digest;
    const manifest = await this.request(client, 'GET', `/v2/${image.repository}/manifests/${reference}`, { headers: { accept: ociManifestType } });
    if (manifest.status === 404) this.figures.acknowledgedMissing++;
    else if (manifest.status === 200) this.checkBody(manifest.body, image.digest);
    await this.checkBlob(client, image.repository, random.pick([image.config, ...image.layers]), true);
  }

  private async checkPending(client: RegistryClient, image: Image, random: Random): Promise<void> {
    const manifest = await this.request(client, 'GET', `/v2/${image.repository}/manifests/${image.tag}`, { headers: { accept: ociManifestType } });
    if (manifest.status === 200) this.checkBody(manifest.body, image.digest);
    await this.checkBlob(client, image.repository, random.pick([image.config, ...image.layers]), false);
  }

  private async checkBlob(client: RegistryClient, repository: string, b: Blob, acknowledged: boolean): Promise<void> {
    const answer = await this.request(client, 'GET', `/v2/${repository}/blobs/${b.digest}`);
    if (answer.status === 404 && acknowledged) this.figures.acknowledgedMissing++;
    if (answer.status === 200) this.checkBody(answer.body, b.digest);
  }

  private checkBody(body: Buffer, digest: string): void {
    this.figures.bodiesChecked++;
    if (sha256(body) !== digest) this.figures.wrongContent++;
  }

  /** Every acknowledged image through the client as a user pulls it; missing or wrong is lost. */
  private async verifyAll(when: string): Promise<void> {
    const client = this.client();
    let verified = 0;
    for (const image of this.acknowledged) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 30 s')), 30_000)));
      try {
        await Promise.race([this.verifyImage(client, image), timeout]);
        verified++;
      } catch (error) {
        this.figures.lost++;
        if (this.figures.lostSamples.length < 5) this.figures.lostSamples.push(`${when}: ${image.repository}:${image.tag} ${String(error)}`);
      } finally {
        clearTimeout(timer);
      }
    }
    this.figures.verified = Math.max(this.figures.verified, verified);
  }

  /** The manifest by tag, then each blob in full; throws when anything is missing or other. */
  private async verifyImage(client: RegistryClient, image: Image): Promise<void> {
    const { descriptor, bytes } = await client.getManifest(image.repository, image.tag, [ociManifestType]);
    if (descriptor.digest !== image.digest || !bytes.equals(image.manifest)) throw new Error(`manifest is ${descriptor.digest}`);
    for (const b of [image.config, ...image.layers]) {
      const hash = createHash('sha256');
      for await (const chunk of await client.openBlob(image.repository, b.digest)) hash.update(chunk as Buffer);
      if (`sha256:${hash.digest('hex')}` !== b.digest) throw new Error(`blob ${b.digest} has other content`);
    }
  }

  /**
   * What the catalog and tag lists show: only what pushers sent, and a tag whose push was never
   * acknowledged (the kill came after the manifest was stored) serves that push's manifest.
   */
  private async checkListings(): Promise<void> {
    const client = this.client();
    const repositories = new Set([...this.attempted.values()].map((image) => image.repository));
    for (const repository of await client.catalog()) {
      if (!repositories.has(repository)) {
        this.figures.unknownListed++;
        continue;
      }
      for (const tag of await client.tags(repository)) {
        const image = this.attempted.get(`${repository}:${tag}`);
        if (!image) {
          this.figures.unknownListed++;
          continue;
        }
        if (this.acknowledged.includes(image)) continue;
        this.figures.tagsUnacknowledged++;
        const { bytes } = await client.getManifest(repository, tag, [ociManifestType]);
        this.checkBody(bytes, image.digest);
      }
    }
  }

  /** A few acknowledged images copied by skopeo to OCI layouts; their digests must match. */
  private async skopeoCopies(): Promise<void> {
    const picks = new Set<Image>();
    const count = Math.min(this.options.skopeoImages, this.acknowledged.length);
    while (picks.size < count) picks.add(this.random.pick(this.acknowledged));
    await mkdir(join(this.options.workDir, 'layouts'), { recursive: true });
    for (const image of picks) {
      const layout = join(this.options.workDir, 'layouts', `${image.repository.replace('/', '-')}-${image.tag}`);
      await run(
        'skopeo',
        ['copy', '-q', '--src-tls-verify=false', `docker://${this.registry.hostPort}/${image.repository}:${image.tag}`, `oci:${layout}:${image.tag}`],
        { timeoutMs: 60_000 },
      );
      const copied = await readLayoutManifest(layout, image.tag);
      if (copied.digest !== image.digest) throw new Error(`skopeo copied ${image.repository}:${image.tag} as ${copied.digest}, pushed ${image.digest}`);
      for (const b of [image.config, ...image.layers]) {
        if (sha256(await readLayoutBlob(layout, b.digest)) !== b.digest) throw new Error(`skopeo's copy of ${b.digest} has other content`);
      }
      this.figures.skopeoVerified++;
    }
  }

  /** `.tmp-*` files anywhere in the store, and upload session directories. */
  private async leftovers(): Promise<{ temporaries: number; uploadSessions: number }> {
    let temporaries = 0;
    let uploadSessions = 0;
    const walk = async (directory: string, parentName: string): Promise<void> => {
      let entries;
      try {
        entries = await opendir(directory);
      } catch {
        return;
      }
      for await (const entry of entries) {
        if (entry.name.startsWith(temporaryPrefix)) temporaries++;
        if (entry.isDirectory()) {
          if (parentName === '_uploads') uploadSessions++;
          await walk(join(directory, entry.name), entry.name);
        }
      }
    };
    await walk(this.registry.storageDir, '');
    return { temporaries, uploadSessions };
  }

  /** The stale temporaries `berth garbage-collect --dry-run` reports with the registry stopped. */
  private async gcDryRunTemporaries(): Promise<number> {
    const config = join(this.options.workDir, 'gc.yml');
    await writeFile(config, this.registry.config(false));
    const result = await run(process.execPath, [berthBin, 'garbage-collect', '--dry-run', '--json', config], { timeoutMs: 60_000 });
    return (JSON.parse(result.stdout) as { staleTemporaries: number }).staleTemporaries;
  }

  private async pushAfterCleanup(): Promise<boolean> {
    const client = this.client();
    const image = this.makeImage(99, 0, new Random(this.options.seed));
    for (const b of [...image.layers, image.config]) await this.uploadBlob(client, image.repository, b);
    await this.putManifest(client, image);
    const { descriptor } = await client.getManifest(image.repository, image.tag, [ociManifestType]);
    return descriptor.digest === image.digest;
  }
}

/** The session was gone (404) or its content refused: start the blob over. */
class SessionGone extends Error {}

function blob(bytes: Buffer, mediaType: string): Blob {
  return { bytes, mediaType, digest: sha256(bytes) };
}

/** The first half of a chunk, then `between()` (the kill), then the rest. */
function halves(chunk: Buffer, between: () => Promise<void>): Readable {
  const middle = Math.max(1, Math.floor(chunk.length / 2));
  return Readable.from(
    (async function* () {
      yield chunk.subarray(0, middle);
      await between();
      yield chunk.subarray(middle);
    })(),
  );
}

/** The whole body, then `after()` (the kill) before the stream ends. */
function thenFire(bytes: Buffer, after: () => Promise<void>): Readable {
  return Readable.from(
    (async function* () {
      yield bytes;
      await after();
    })(),
  );
}

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

/**
 * Bytes a session holds from its `Range: 0-N` header. `0-0` stands for none and for one byte
 * alike; it is read as none, and a session holding one byte answers the next PATCH with 416 and
 * its offset.
 */
function storedBytes(range: string | string[] | undefined): number | undefined {
  const match = typeof range === 'string' ? /^(?:bytes=)?0-(\d+)$/.exec(range.trim()) : null;
  if (!match) return undefined;
  const end = Number(match[1]);
  return end === 0 ? 0 : end + 1;
}

async function readBody(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
