/**
 * Hit and miss counts of the registry's in-memory caches, by cache name, for the whole process.
 * Plain numbers so that registry/ does not depend on a metrics library; src/ops reads them when
 * metrics are scraped.
 */
const counts = new Map<string, { hits: number; misses: number }>();

/** Counts one lookup in the cache called `cache`. */
export function countLookup(cache: string, hit: boolean): void {
  let entry = counts.get(cache);
  if (!entry) counts.set(cache, (entry = { hits: 0, misses: 0 }));
  if (hit) entry.hits++;
  else entry.misses++;
}

/** The counts so far, by cache name (live objects: read, do not keep). */
export function cacheLookups(): ReadonlyMap<string, { readonly hits: number; readonly misses: number }> {
  return counts;
}
