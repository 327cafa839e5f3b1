import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLayoutManifest, type Descriptor, type Manifest } from './oci.js';
import { run, type RunOptions } from './run.js';

/** What `podman run` / `docker run` of the single image prints. */
export const helloText = 'hello from the berth e2e image';

export interface TestImages {
  /** Global buildah flags selecting the store that holds the built images (vfs). */
  readonly buildah: readonly string[];
  readonly single: {
    /** Name in the buildah store. */
    readonly localName: string;
    readonly layoutDir: string;
    /** skopeo source, `oci:DIR:v1`. */
    readonly layout: string;
    readonly manifest: Manifest;
    readonly layer: Descriptor;
    /** A `docker save` style tarball of the same image (`docker-archive:` for skopeo). */
    readonly archive: string;
    /** The name the tarball loads as (docker; podman and ctr prefix docker.io/). */
    readonly archiveName: string;
  };
  readonly multi: {
    readonly localName: string;
    readonly layoutDir: string;
    readonly layout: string;
    readonly index: Manifest;
    /** The index entries by architecture. */
    readonly children: Readonly<Record<'amd64' | 'arm64', Descriptor>>;
  };
}

const busybox = '/bin/busybox';

/**
 * Builds the test images without a network, with buildah on vfs storage and chroot isolation:
 * a busybox image (as an OCI layout and a docker-archive tarball) whose command prints
 * helloText, and a two-architecture OCI index (amd64, arm64) of images that each carry their
 * architecture in /arch.txt. About 3 s; call once per test file.
 */
export async function buildTestImages(dir: string): Promise<TestImages> {
  await mkdir(join(dir, 'layouts'), { recursive: true });
  const buildah = ['--storage-driver', 'vfs', '--root', join(dir, 'buildah/root'), '--runroot', join(dir, 'buildah/run')];
  const options: RunOptions = { timeoutMs: 60_000, cwd: dir };
  const ba = async (...args: string[]) => (await run('buildah', [...buildah, ...args], options)).stdout.trim();

  const singleName = 'localhost/berth-e2e/single:v1';
  let c = await ba('from', 'scratch');
  await ba('copy', '-q', c, busybox, busybox);
  await ba('run', '--isolation', 'chroot', c, '--', busybox, '--install', '-s', '/bin');
  await ba('config', '--os', 'linux', '--arch', 'amd64', '--cmd', JSON.stringify(['/bin/sh', '-c', `echo ${helloText}`]), c);
  await ba('commit', '-q', '--format', 'oci', '--rm', c, singleName);
  const singleDir = join(dir, 'layouts/single');
  await ba('push', '-q', singleName, `oci:${singleDir}:v1`);
  const archive = join(dir, 'single.tar');
  const archiveName = 'berth-e2e/single:v1';
  await run('skopeo', ['copy', '-q', `oci:${singleDir}:v1`, `docker-archive:${archive}:${archiveName}`], options);

  const multiName = 'localhost/berth-e2e/multi:list';
  for (const arch of ['amd64', 'arm64']) {
    const archFile = join(dir, 'arch.txt');
    await writeFile(archFile, `${arch}\n`);
    c = await ba('from', 'scratch');
    await ba('copy', '-q', c, busybox, busybox);
    await ba('copy', '-q', c, archFile, '/arch.txt');
    await ba('config', '--os', 'linux', '--arch', arch, '--cmd', JSON.stringify([busybox, 'cat', '/arch.txt']), c);
    await ba('commit', '-q', '--format', 'oci', '--rm', c, `localhost/berth-e2e/multi:${arch}`);
    await rm(archFile);
  }
  await ba('manifest', 'create', multiName);
  await ba('manifest', 'add', multiName, 'localhost/berth-e2e/multi:amd64');
  await ba('manifest', 'add', '--arch', 'arm64', multiName, 'localhost/berth-e2e/multi:arm64');
  const multiDir = join(dir, 'layouts/multi');
  await ba('manifest', 'push', '-q', '--all', '--format', 'oci', multiName, `oci:${multiDir}:list`);

  const manifest = await readLayoutManifest(singleDir, 'v1');
  const index = await readLayoutManifest(multiDir, 'list');
  const byArch = (arch: string) => {
    const found = index.json.manifests?.find((d) => d.platform?.architecture === arch);
    if (!found) throw new Error(`the built index has no ${arch} entry: ${index.bytes.toString()}`);
    return found;
  };
  return {
    buildah,
    single: {
      localName: singleName,
      layoutDir: singleDir,
      layout: `oci:${singleDir}:v1`,
      manifest,
      layer: manifest.json.layers![0]!,
      archive,
      archiveName,
    },
    multi: {
      localName: multiName,
      layoutDir: multiDir,
      layout: `oci:${multiDir}:list`,
      index,
      children: { amd64: byArch('amd64'), arm64: byArch('arm64') },
    },
  };
}
