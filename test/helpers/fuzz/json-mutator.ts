import type { Random } from './random.js';
import type { FuzzWorld } from './world.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values that a manifest field might be replaced with: wrong types, edge numbers, lying digests. */
function hostileValue(random: Random, world: FuzzWorld, current: Json): Json {
  const digests = [...world.blobs, ...world.manifests, ...world.payloads].map((item) => item.digest);
  const choices: (() => Json)[] = [
    () => null,
    () => true,
    () => -1,
    () => 0,
    () => 1.5,
    () => 2 ** 53 + 2,
    () => 1e308,
    () => '',
    () => 'x'.repeat(random.pick([10, 70_000])),
    () => [],
    () => ({}),
    () => random.pick(digests),
    () => `sha512:${'a'.repeat(128)}`,
    () => `sha384:${'a'.repeat(96)}`,
    () => `sha256:${'A'.repeat(64)}`,
    () => random.pick(world.manifests).mediaType,
    () => 'application/vnd.docker.distribution.manifest.v1+json',
    () => (typeof current === 'number' ? current + random.pick([-1, 1, 1000]) : 1),
    () => (typeof current === 'string' ? `${current}x` : 'x'),
    () => (Array.isArray(current) ? [...current, ...current] : [current]),
  ];
  return random.pick(choices)();
}

type Slot = { parent: Json[] | { [key: string]: Json }; key: string | number };

/**
 * Up to `limit` places in the document (container and key), found without recursion: an earlier
 * mutation may have nested the body deeper than the stack allows.
 */
function slots(document: Json, limit = 10_000): Slot[] {
  const found: Slot[] = [];
  const pending: Json[] = [document];
  while (pending.length > 0 && found.length < limit) {
    const value = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    const entries: [string | number, Json][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
    for (const [key, item] of entries) {
      found.push({ parent: value, key });
      pending.push(item);
    }
  }
  return found;
}

/** A document nested `depth` deep (arrays or objects), for the parser's depth limits. */
function deeplyNested(depth: number, random: Random): string {
  return random.chance(0.5) ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/**
 * Mutates a JSON body structurally: one field replaced, removed or added, or the whole document
 * replaced by something a parser could choke on. A body that is not JSON is replaced.
 */
export function mutateJson(bytes: Buffer, random: Random, world: FuzzWorld): { body: Buffer; description: string } {
  let document: Json;
  try {
    document = JSON.parse(bytes.toString('utf8')) as Json;
  } catch {
    document = JSON.parse(random.pick(world.manifests).content.toString('utf8')) as Json;
  }
  const choice = random.int(10);
  if (choice === 0) {
    const depth = random.pick([64, 1000, 100_000]);
    return { body: Buffer.from(deeplyNested(depth, random)), description: `nested ${depth} deep` };
  }
  if (choice === 1) {
    const text = random.pick(['null', '[]', '"x"', '1', '{"schemaVersion":2}', '{"__proto__":{"polluted":1},"schemaVersion":2}', '{"a":1,"a":2}', '\ufeff{}']);
    return { body: Buffer.from(text), description: `document ${JSON.stringify(text)}` };
  }
  const places = slots(document);
  if (places.length === 0) return { body: serialize(document), description: 'no field to change' };
  const { parent, key } = random.pick(places);
  const current = (parent as Record<string | number, Json>)[key]!;
  let description: string;
  if (choice === 2 && !Array.isArray(parent)) {
    delete parent[key as string];
    description = `removed ${String(key)}`;
  } else if (choice === 3 && !Array.isArray(parent)) {
    const extra = random.pick(['subject', 'manifests', 'layers', 'config', 'mediaType', 'artifactType', '__proto__', 'constructor']);
    (parent as Record<string, Json>)[extra] = hostileValue(random, world, null);
    description = `added ${extra}`;
  } else {
    const value = hostileValue(random, world, current);
    (parent as Record<string | number, Json>)[key] = value;
    description = `${String(key)} = ${JSON.stringify(value)?.slice(0, 60)}`;
  }
  return { body: serialize(document), description };
}

/** The document as JSON; one nested past what JSON.stringify's recursion takes becomes `[]`. */
function serialize(document: Json): Buffer {
  try {
    return Buffer.from(JSON.stringify(document));
  } catch {
    return Buffer.from('[]');
  }
}
