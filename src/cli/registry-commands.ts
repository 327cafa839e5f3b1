import { createInterface } from 'node:readline/promises';
import { buffer } from 'node:stream/consumers';
import { Command } from 'commander';
import { dockerConfigFile, removeCredentials, saveCredentials } from '../client/docker-config.js';
import { parseReference, referenceOf } from '../client/reference.js';
import type { RegistryClient } from '../client/registry-client.js';
import { RegistrySource } from '../image/registry-endpoint.js';
import { isIndex, type Descriptor, type Platform } from '../image/descriptor.js';
import { formatPlatform } from '../image/platform.js';
import { connect, withConnectionFlags, type ConnectionFlags } from './client-options.js';
import { humanSize } from '../units.js';
import { UserCommandError } from './user.js';

/** The small registry commands: tags, catalog, inspect, delete, login, logout. */

interface JsonFlag {
  json?: boolean;
}

/** Runs `action` with a client for `registry`, closing it afterwards. */
async function withClient<T>(registry: string, flags: ConnectionFlags, action: (client: RegistryClient) => Promise<T>): Promise<T> {
  const client = await connect(registry, flags);
  try {
    return await action(client);
  } finally {
    await client.close();
  }
}

function print(flags: JsonFlag, json: unknown, text: string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(json, null, 2)}\n` : text);
}

function lines(values: readonly string[]): string {
  return values.map((value) => `${value}\n`).join('');
}

export function tagsCommand(): Command {
  return withConnectionFlags(new Command('tags'))
    .description("list a repository's tags (every page)")
    .argument('<repository>', 'host[:port]/repository')
    .option('-n, --page-size <n>', 'tags asked for per page', Number)
    .option('--json', 'print JSON')
    .action(async (repoArg: string, flags: ConnectionFlags & JsonFlag & { pageSize?: number }) => {
      const ref = parseReference(repoArg);
      const tags = await withClient(ref.registry, flags, (client) => client.tags(ref.repository, { pageSize: flags.pageSize }));
      print(flags, { repository: ref.repository, tags }, lines(tags));
    });
}

export function catalogCommand(): Command {
  return withConnectionFlags(new Command('catalog'))
    .description("list a registry's repositories (every page)")
    .argument('<host>', 'host[:port]')
    .option('-n, --page-size <n>', 'repositories asked for per page', Number)
    .option('--json', 'print JSON')
    .action(async (host: string, flags: ConnectionFlags & JsonFlag & { pageSize?: number }) => {
      const repositories = await withClient(host, flags, (client) => client.catalog({ pageSize: flags.pageSize }));
      print(flags, { repositories }, lines(repositories));
    });
}

export function deleteCommand(): Command {
  return withConnectionFlags(new Command('delete'))
    .description('delete a manifest (by digest) or a tag; the registry must allow deletes')
    .argument('<ref>', 'host[:port]/repository:tag or host[:port]/repository@digest')
    .action(async (refArg: string, flags: ConnectionFlags) => {
      const ref = parseReference(refArg);
      if (!ref.tag && !ref.digest) throw new UserCommandError('delete: name a tag or a digest (nothing is deleted by default)');
      await withClient(ref.registry, flags, (client) => client.deleteManifest(ref.repository, referenceOf(ref)));
      process.stdout.write(`deleted ${refArg}\n`);
    });
}

export function loginCommand(): Command {
  return withConnectionFlags(new Command('login'))
    .description('check credentials against a registry and save them in the Docker config file (docker, podman and skopeo read it)')
    .argument('<host>', 'host[:port]')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (host: string, flags: ConnectionFlags & { passwordStdin?: boolean }) => {
      const username = flags.username ?? (await ask('Username: '));
      const password = flags.passwordStdin ? (await readStdin()).replace(/\r?\n$/, '') : (flags.password ?? process.env.BERTH_PASSWORD ?? (await askHidden('Password: ')));
      if (!username) throw new UserCommandError('login: a username is needed (--username)');
      // A ping with the credentials makes the registry (or its token server) check them now.
      await withClient(host, { ...flags, username, password }, (client) => client.ping());
      await saveCredentials(host, username, password);
      process.stdout.write(`Login succeeded: ${username}@${host} (saved in ${dockerConfigFile()})\n`);
    });
}

export function logoutCommand(): Command {
  return new Command('logout')
    .description('remove the saved credentials of a registry')
    .argument('<host>', 'host[:port]')
    .action(async (host: string) => {
      const removed = await removeCredentials(host);
      process.stdout.write(removed ? `Removed the credentials of ${host}\n` : `No credentials were saved for ${host}\n`);
    });
}

export function inspectCommand(): Command {
  return withConnectionFlags(new Command('inspect'))
    .description('show an image: its manifest, config, platforms, sizes and referrers')
    .argument('<ref>', 'host[:port]/repository[:tag|@digest]')
    .option('--raw', 'print the manifest exactly as the registry sent it')
    .option('--json', 'print JSON')
    .action(async (refArg: string, flags: ConnectionFlags & JsonFlag & { raw?: boolean }) => {
      const ref = parseReference(refArg);
      await withClient(ref.registry, flags, async (client) => {
        const source = new RegistrySource(client, ref);
        const root = await source.root();
        const bytes = await source.fetchBytes(root);
        if (flags.raw) {
          process.stdout.write(bytes);
          return;
        }
        const summary = await describe(source, root, bytes);
        print(flags, summary, summaryText(refArg, summary));
      });
    });
}

interface ImageSummary {
  digest: string;
  mediaType: string;
  size: number;
  manifest: unknown;
  /** For an index: its images. */
  platforms?: { digest: string; platform?: Platform; size: number; mediaType: string }[];
  /** For an image: its config and layers. */
  config?: unknown;
  layers?: Descriptor[];
  /** Bytes of config and layers (compressed, as stored). */
  totalSize?: number;
  referrers: Descriptor[];
}

async function describe(source: RegistrySource, descriptor: Descriptor, bytes: Buffer): Promise<ImageSummary> {
  const manifest = JSON.parse(bytes.toString('utf8')) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
  const referrers = await source.client.referrers(source.reference.repository, descriptor.digest);
  const base = { digest: descriptor.digest, mediaType: descriptor.mediaType, size: descriptor.size, manifest, referrers };
  if (isIndex(descriptor.mediaType)) {
    const platforms = (manifest.manifests ?? []).map((m) => ({ digest: m.digest, platform: m.platform, size: m.size, mediaType: m.mediaType }));
    return { ...base, platforms };
  }
  const layers = manifest.layers ?? [];
  let config: unknown;
  if (manifest.config) {
    // Read as the transfers read it: size-bounded and checked against its digest.
    const text = (await source.fetchBytes(manifest.config)).toString('utf8');
    try {
      config = JSON.parse(text);
    } catch {
      config = text;
    }
  }
  const totalSize = (manifest.config?.size ?? 0) + layers.reduce((sum, layer) => sum + layer.size, 0);
  return { ...base, config, layers, totalSize };
}

function summaryText(name: string, summary: ImageSummary): string {
  const out = [`${name}`, `  digest:     ${summary.digest}`, `  media type: ${summary.mediaType}`, `  size:       ${summary.size} bytes`];
  if (summary.platforms) {
    out.push('  platforms:');
    for (const p of summary.platforms) out.push(`    ${(p.platform ? formatPlatform(p.platform) : 'unknown').padEnd(20)} ${p.digest}`);
  } else {
    const config = (summary.config ?? {}) as { os?: string; architecture?: string; variant?: string; created?: string };
    if (config.os) out.push(`  platform:   ${formatPlatform({ os: config.os, architecture: config.architecture ?? '?', variant: config.variant })}`);
    if (config.created) out.push(`  created:    ${config.created}`);
    out.push(`  layers:     ${summary.layers?.length ?? 0}, ${humanSize(summary.totalSize ?? 0)} with the config`);
    for (const layer of summary.layers ?? []) out.push(`    ${layer.digest}  ${humanSize(layer.size).padStart(10)}  ${layer.mediaType}`);
  }
  out.push(`  referrers:  ${summary.referrers.length}`);
  for (const r of summary.referrers) out.push(`    ${r.digest}  ${r.artifactType ?? r.mediaType}`);
  return `${out.join('\n')}\n`;
}

async function readStdin(): Promise<string> {
  return (await buffer(process.stdin)).toString('utf8');
}

/** Asks on the terminal; without one the answer is empty. */
async function ask(question: string): Promise<string> {
  if (!process.stdin.isTTY) return '';
  const prompt = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return (await prompt.question(question)).trim();
  } finally {
    prompt.close();
  }
}

/** Reads a password on the terminal without echoing it (raw mode, up to Enter). */
async function askHidden(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) return '';
  process.stderr.write(question);
  input.setRawMode(true);
  input.resume();
  let answer = '';
  try {
    for await (const chunk of input) {
      for (const char of (chunk as Buffer).toString('utf8')) {
        if (char === '\r' || char === '\n') return answer;
        if (char === '\u0003') throw new UserCommandError('login: interrupted');
        answer = char === '\u007f' ? answer.slice(0, -1) : answer + char;
      }
    }
    return answer;
  } finally {
    input.setRawMode(false);
    input.pause();
    process.stderr.write('\n');
  }
}
