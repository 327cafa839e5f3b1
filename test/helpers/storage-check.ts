import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Checks a filesystem storage root for what a failed or interrupted write must never leave
 * visible, and returns each problem found (none: an empty list):
 * - a blob whose `data` does not hash to its name (half-written content under a final name);
 * - a repository link (layer, manifest revision, tag) naming a blob whose data is missing;
 * - a tag's `current` link naming a manifest the repository has no revision for;
 * - a `.tmp-*` file (a temporary file the writer did not clean up after a failure).
 * Upload sessions (`_uploads`) may hold partial data: that is what resuming needs.
 */
export async function storageProblems(root: string): Promise<string[]> {
  const problems: string[] = [];
  const v2 = join(root, 'docker/registry/v2');
  const entries = (await readdir(root, { recursive: true }).catch(() => [] as string[])).sort();
  for (const entry of entries) {
    if (entry.split('/').some((part) => part.startsWith('.tmp-'))) problems.push(`temporary file left: ${entry}`);
  }
  const blobs = new Set<string>();
  const blobsRoot = join(v2, 'blobs');
  for (const algorithm of await listOrEmpty(blobsRoot)) {
    for (const prefix of await listOrEmpty(join(blobsRoot, algorithm))) {
      for (const hex of await listOrEmpty(join(blobsRoot, algorithm, prefix))) {
        const data = await readFile(join(blobsRoot, algorithm, prefix, hex, 'data')).catch(() => undefined);
        if (!data) continue;
        if (createHash(algorithm).update(data).digest('hex') !== hex) problems.push(`blob ${algorithm}:${hex} holds other content`);
        else blobs.add(`${algorithm}:${hex}`);
      }
    }
  }
  const repositoriesRoot = join(v2, 'repositories');
  const links = entries.filter((entry) => entry.startsWith('docker/registry/v2/repositories/') && entry.endsWith('/link'));
  for (const entry of links) {
    const target = (await readFile(join(root, entry), 'utf8').catch(() => '')).trim();
    if (!blobs.has(target)) problems.push(`${entry} names ${target || '(nothing)'}, which is not stored`);
    const tag = /^docker\/registry\/v2\/repositories\/(.+)\/_manifests\/tags\/[^/]+\/current\/link$/.exec(entry);
    if (tag) {
      const [algorithm, hex] = target.split(':');
      const revision = join(repositoriesRoot, tag[1]!, '_manifests/revisions', algorithm ?? '', hex ?? '', 'link');
      const named = (await readFile(revision, 'utf8').catch(() => '')).trim();
      if (named !== target) problems.push(`${entry} names ${target}, which is not a manifest revision of ${tag[1]}`);
    }
  }
  return problems;
}

async function listOrEmpty(dir: string): Promise<string[]> {
  return await readdir(dir).catch(() => []);
}
