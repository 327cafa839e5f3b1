import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { formatReference, parseReference } from '../client/reference.js';
import { BlobLocations } from '../image/blob-locations.js';
import { writeDockerArchive } from '../image/docker-archive.js';
import type { ImageSink, ImageSource } from '../image/image-endpoint.js';
import { openArchive } from '../image/layout-archive.js';
import { OciLayoutSink, OciLayoutSource } from '../image/oci-layout.js';
import { currentPlatform, parsePlatform } from '../image/platform.js';
import type { Platform } from '../image/descriptor.js';
import { RegistrySink, RegistrySource } from '../image/registry-endpoint.js';
import { transfer, type TransferOptions, type TransferResult } from '../image/transfer.js';
import { unpackLayers } from '../image/unpack.js';
import { parseSize } from '../units.js';
import { connect, withConnectionFlags, type ConnectionFlags } from './client-options.js';
import { UserCommandError } from './user.js';
import { displayMode, transferDisplay, transferSummary } from './transfer-progress.js';

/** `berth push`, `berth pull` and `berth copy`: one transfer each, between the ends image/ knows. */

interface OutputFlags {
  json?: boolean;
  jobs?: number;
}

export function pushCommand(): Command {
  return withConnectionFlags(new Command('push'))
    .description('push an image from a `docker save` tarball, an OCI layout directory or an OCI layout tarball')
    .argument('<source>', 'PATH or PATH:NAME (NAME picks an image of a layout or archive holding several)')
    .argument('<ref>', 'host[:port]/repository[:tag|@digest]')
    .option('--chunk-size <size>', 'upload each blob in chunks of this size (e.g. 8MiB), resuming after a dropped connection; default: one request per blob', parseSize)
    .option('--mount-from <repository...>', 'repositories of the same registry to mount blobs from before uploading them')
    .option('-j, --jobs <n>', 'blobs uploaded at once', parseCount, 4)
    .option('--json', 'print a JSON summary instead of progress')
    .action(async (sourceArg: string, refArg: string, flags: ConnectionFlags & OutputFlags & { chunkSize?: number; mountFrom?: string[] }) => {
      const ref = parseReference(refArg);
      const source = await openLocalSource(sourceArg);
      const client = await connect(ref.registry, flags);
      const locations = new BlobLocations();
      const sink = new RegistrySink(client, ref, { chunkSize: flags.chunkSize, mountFrom: flags.mountFrom, locations });
      try {
        await run('pushed', formatReference(ref), source, sink, { platform: 'all', concurrency: flags.jobs }, flags);
      } finally {
        await client.close();
        await locations.save();
      }
    });
}

export function pullCommand(): Command {
  return withConnectionFlags(new Command('pull'))
    .description('pull an image into an OCI layout directory (or a `docker load` tarball), and optionally unpack its root filesystem')
    .argument('<ref>', 'host[:port]/repository[:tag|@digest]')
    .argument('[dest]', 'the OCI layout directory (or tarball with --format docker-archive) to write')
    .addOption(new Option('--format <format>', 'what DEST is').choices(['oci', 'docker-archive']).default('oci'))
    .option('--platform <os/arch[/variant]>', "the image to pick from a multi-platform index (default: this machine's)")
    .option('--all-platforms', 'pull every image of an index (OCI layout only)')
    .option('--unpack <dir>', 'extract the root filesystem into this directory, applying layer whiteouts')
    .option('-j, --jobs <n>', 'blobs downloaded at once', parseCount, 4)
    .option('--json', 'print a JSON summary instead of progress')
    .action(
      async (
        refArg: string,
        dest: string | undefined,
        flags: ConnectionFlags & OutputFlags & { format: 'oci' | 'docker-archive'; platform?: string; allPlatforms?: boolean; unpack?: string },
      ) => {
        const ref = parseReference(refArg);
        if (!dest && !flags.unpack) throw new UserCommandError('pull: give DEST, --unpack DIR, or both');
        if (flags.allPlatforms && (flags.format === 'docker-archive' || flags.unpack)) {
          throw new UserCommandError('pull: --all-platforms writes an OCI layout; it cannot be combined with --format docker-archive or --unpack');
        }
        const platform = flags.allPlatforms ? 'all' : flags.platform ? platformFlag(flags.platform) : currentPlatform();
        // A docker archive and an unpacked tree are made from a complete, verified layout.
        const scratch = flags.format === 'docker-archive' || !dest ? await mkdtemp(join(tmpdir(), 'berth-pull-')) : undefined;
        const layoutDir = scratch ?? dest!;
        const refName = ref.tag ?? (ref.digest ? undefined : 'latest');
        const client = await connect(ref.registry, flags);
        const locations = new BlobLocations();
        try {
          const result = await run('pulled', formatReference(ref), new RegistrySource(client, ref, locations), new OciLayoutSink(layoutDir, refName), { platform, concurrency: flags.jobs }, flags);
          const layout = new OciLayoutSource(layoutDir, refName);
          try {
            if (flags.format === 'docker-archive' && dest) {
              await writeDockerArchive(layout, result.root, dest, ref.tag ? `${ref.repository}:${ref.tag}` : undefined);
            }
            if (flags.unpack) await unpackLayers(layout, result.root, flags.unpack);
          } finally {
            await layout.close();
          }
        } finally {
          await client.close();
          await locations.save();
          if (scratch) await rm(scratch, { recursive: true, force: true });
        }
      },
    );
}

export function copyCommand(): Command {
  return withConnectionFlags(new Command('copy'))
    .description('copy an image (a whole index by default) from one registry to another, streaming, with mounts within one registry')
    .argument('<source-ref>', 'host[:port]/repository[:tag|@digest]')
    .argument('<dest-ref>', 'host[:port]/repository[:tag|@digest]')
    .option('--platform <os/arch[/variant]>', 'copy only this image of a multi-platform index')
    .option('--chunk-size <size>', 'upload in chunks of this size, resuming after a dropped connection', parseSize)
    .option('-j, --jobs <n>', 'blobs copied at once', parseCount, 4)
    .option('--json', 'print a JSON summary instead of progress')
    .action(async (srcArg: string, destArg: string, flags: ConnectionFlags & OutputFlags & { platform?: string; chunkSize?: number }) => {
      const from = parseReference(srcArg);
      const to = parseReference(destArg);
      const sourceClient = await connect(from.registry, flags);
      const sameRegistry = from.registry === to.registry;
      const destClient = sameRegistry ? sourceClient : await connect(to.registry, flags);
      const locations = new BlobLocations();
      try {
        await run(
          'copied',
          `${formatReference(from)} to ${formatReference(to)}`,
          new RegistrySource(sourceClient, from, locations),
          new RegistrySink(destClient, to, { chunkSize: flags.chunkSize, mountFrom: sameRegistry ? [from.repository] : undefined, locations }),
          { platform: flags.platform ? platformFlag(flags.platform) : 'all', concurrency: flags.jobs },
          flags,
        );
      } finally {
        await sourceClient.close();
        if (!sameRegistry) await destClient.close();
        await locations.save();
      }
    });
}

/** Runs one transfer with progress shown, then prints its summary (text or JSON). */
async function run(verb: string, target: string, source: ImageSource, sink: ImageSink, options: TransferOptions, flags: OutputFlags): Promise<TransferResult> {
  const display = transferDisplay(displayMode(flags.json));
  const started = performance.now();
  let result: TransferResult;
  try {
    result = await transfer(source, sink, { ...options, events: display.events });
  } finally {
    display.stop();
    await source.close();
    await sink.close();
  }
  const seconds = (performance.now() - started) / 1000;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ [verb]: target, ...result, seconds: Number(seconds.toFixed(3)) }, null, 2)}\n`);
  } else {
    process.stdout.write(transferSummary(verb, target, result, seconds));
  }
  return result;
}

/** A directory is an OCI layout; a file is an OCI layout tarball or a `docker save` tarball. */
async function openLocalSource(argument: string): Promise<ImageSource> {
  let path = argument;
  let name: string | undefined;
  if (!(await exists(path))) {
    const colon = argument.lastIndexOf(':');
    if (colon > 0 && (await exists(argument.slice(0, colon)))) {
      path = argument.slice(0, colon);
      name = argument.slice(colon + 1);
    } else {
      throw new UserCommandError(`${argument}: no such file or directory`);
    }
  }
  return (await stat(path)).isDirectory() ? new OciLayoutSource(path, name) : openArchive(path, name);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function platformFlag(value: string): Platform {
  try {
    return parsePlatform(value);
  } catch (error) {
    throw new UserCommandError(`--platform: ${(error as Error).message}`, { cause: error });
  }
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UserCommandError(`not a positive integer: ${JSON.stringify(value)}`);
  return Number(value);
}
