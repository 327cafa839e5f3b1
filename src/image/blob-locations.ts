import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Where blobs were last seen: for each digest, the registry repositories a push, pull or copy
 * moved it to or from. A push asks it for repositories of the same registry to mount a layer
 * from (`POST ?mount=&from=`) instead of uploading it again, as docker and containers/image
 * keep a blob-info cache for the same purpose. It is a hint only: a mount the registry refuses
 * falls back to an upload.
 *
 * Kept in one small JSON file under the user's cache directory, newest entries last, at most
 * `maxDigests` digests and `maxPerDigest` repositories each, so it never grows without bound.
 * Several berth processes may write it at once; the last writer wins, and losing a hint costs
 * one upload, never correctness.
 */

const maxDigests = 5000;
const maxPerDigest = 8;

type Locations = Record<string, string[]>;

export class BlobLocations {
  private entries: Map<string, string[]> | undefined;
  private dirty = false;

  constructor(readonly file: string = defaultFile()) {}

  /** Repositories of `registry` that held the blob, most recent first. */
  async repositoriesOf(registry: string, digest: string): Promise<string[]> {
    const prefix = `${registry}/`;
    const seen = (await this.load()).get(digest) ?? [];
    return seen.filter((place) => place.startsWith(prefix)).map((place) => place.slice(prefix.length));
  }

  /** Notes that `registry/repository` holds the blob (kept in memory until save()). */
  async remember(registry: string, repository: string, digest: string): Promise<void> {
    const entries = await this.load();
    const place = `${registry}/${repository}`;
    const places = [place, ...(entries.get(digest) ?? []).filter((p) => p !== place)].slice(0, maxPerDigest);
    entries.delete(digest);
    entries.set(digest, places);
    if (entries.size > maxDigests) entries.delete(entries.keys().next().value!);
    this.dirty = true;
  }

  /** Writes the file (temp + rename) when something was remembered. Errors are swallowed: it is a cache. */
  async save(): Promise<void> {
    if (!this.dirty || !this.entries) return;
    const json: Locations = Object.fromEntries(this.entries);
    try {
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const temporary = `${this.file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(json), { mode: 0o600 });
      await rename(temporary, this.file);
      this.dirty = false;
    } catch {
      // An unwritable cache directory only costs later mounts.
    }
  }

  private async load(): Promise<Map<string, string[]>> {
    if (this.entries) return this.entries;
    let parsed: Locations = {};
    try {
      const value: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      if (value && typeof value === 'object' && !Array.isArray(value)) parsed = value as Locations;
    } catch {
      // Missing or damaged: start empty.
    }
    this.entries = new Map(Object.entries(parsed).filter(([, places]) => Array.isArray(places) && places.every((p) => typeof p === 'string')));
    return this.entries;
  }
}

/** `$XDG_CACHE_HOME/berth/blob-locations.json`, else `~/.cache/berth/...`. */
function defaultFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'berth', 'blob-locations.json');
}
