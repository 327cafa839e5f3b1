import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * skopeo, podman and buildah (as root, whatever their --root) remember in this file which
 * registry repositories hold which blobs, and then mount across repositories (or skip) instead
 * of uploading. Tests that must see a real upload delete it first.
 */
export const blobInfoCache = '/var/lib/containers/cache/blob-info-cache-v1.boltdb';

export async function forgetKnownBlobs(): Promise<void> {
  await rm(blobInfoCache, { force: true });
}

export interface PodmanStore {
  /** Global podman flags selecting this store. */
  readonly flags: readonly string[];
  remove(): Promise<void>;
}

/**
 * A private podman store (vfs, no systemd): graph root under dir, run root in a short temp dir
 * of its own, as podman refuses a run root longer than 50 characters.
 */
export async function podmanStore(dir: string): Promise<PodmanStore> {
  const runRoot = await mkdtemp(join(tmpdir(), 'berth-podman-'));
  return {
    flags: [
      ...['--root', join(dir, 'root'), '--runroot', runRoot, '--storage-driver', 'vfs'],
      ...['--cgroup-manager', 'cgroupfs', '--events-backend', 'file'],
    ],
    remove: () => rm(runRoot, { recursive: true, force: true }),
  };
}

/** `podman run` flags that work in this sandbox (no systemd, no CNI, low default ulimits). */
export const podmanRunFlags = [
  '--rm',
  '--network',
  'none',
  '--runtime',
  'runc',
  '--ulimit',
  'nofile=1024:1024',
  '--ulimit',
  'nproc=1000:1000',
];

/** `ctr` flags for a containerd socket, in a test namespace. */
export function ctrFlags(socket: string): string[] {
  return ['-a', socket, '-n', 'berth-e2e'];
}
