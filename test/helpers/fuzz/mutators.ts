import {
  authorizations,
  contentLengths,
  contentRanges,
  contentTypes,
  hostileNames,
  hostileNumbers,
  hostileQueryValues,
  hostileReferences,
  junk,
  ranges,
} from './hostile-values.js';
import { mutateJson } from './json-mutator.js';
import type { Random } from './random.js';
import type { WireRequest } from './wire.js';
import type { FuzzWorld } from './world.js';

/** What a mutation did, for the report of a failing case; and whether the request may now hang. */
export interface Mutation {
  readonly description: string;
  /** The framing (Content-Length, Transfer-Encoding) no longer matches the body: no answer is allowed. */
  readonly framingBroken?: boolean;
}

type Mutator = (request: WireRequest, random: Random, world: FuzzWorld) => Mutation;

const methods = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'get', 'Put', 'FOO', 'M-SEARCH'];

/** The API path split around the repository name, when it has one. */
function splitName(path: string): { before: string; name: string; after: string } | undefined {
  const match = /^(\/v2\/)(.+?)(\/(?:manifests|blobs|tags|referrers)\/.*)$/.exec(path);
  return match ? { before: match[1]!, name: match[2]!, after: match[3]! } : undefined;
}

function splitTarget(target: string): { path: string; query: string | undefined } {
  const question = target.indexOf('?');
  return question < 0 ? { path: target, query: undefined } : { path: target.slice(0, question), query: target.slice(question + 1) };
}

function joinTarget(path: string, query: string | undefined): string {
  return query === undefined ? path : `${path}?${query}`;
}

function setHeader(request: WireRequest, name: string, value: string): void {
  request.headers = request.headers.filter(([key]) => key.toLowerCase() !== name.toLowerCase());
  request.headers.push([name, value]);
}

function bodyBytes(request: WireRequest): Buffer {
  const { body } = request;
  if (body === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(body) ? body : Buffer.concat(body);
}

const mutators: Readonly<Record<string, Mutator>> = {
  method: (request, random) => {
    request.method = random.pick(methods);
    return { description: `method ${request.method}` };
  },
  name: (request, random) => {
    const { path, query } = splitTarget(request.target);
    const parts = splitName(path);
    const name = random.chance(0.8) ? random.pick(hostileNames) : junk(random);
    request.target = joinTarget(parts ? `${parts.before}${name}${parts.after}` : `/v2/${name}/tags/list`, query);
    return { description: `name ${JSON.stringify(name)}` };
  },
  reference: (request, random) => {
    const { path, query } = splitTarget(request.target);
    const slash = path.lastIndexOf('/');
    const reference = random.chance(0.8) ? random.pick(hostileReferences) : junk(random);
    request.target = joinTarget(`${path.slice(0, slash + 1)}${reference}`, query);
    return { description: `last segment ${JSON.stringify(reference)}` };
  },
  segments: (request, random) => {
    const { path, query } = splitTarget(request.target);
    const insert = random.pick(['/./', '/../', '//', '/%2e%2e/', '/%2e/', '%2f', '%2F', '/..', '\\..\\', '/;/', '/../../canary/']);
    const at = random.int(path.length + 1);
    request.target = joinTarget(`${path.slice(0, at)}${insert}${path.slice(at)}`, query);
    return { description: `inserted ${JSON.stringify(insert)} at ${at}` };
  },
  encode: (request, random) => {
    // Percent-encodes a few characters (slashes too), which a router must decode once, after matching.
    const { path, query } = splitTarget(request.target);
    const chars = [...path];
    for (let i = random.between(1, 4); i > 0; i--) {
      const at = random.int(chars.length);
      chars[at] = [...Buffer.from(chars[at]!)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
      if (random.chance(0.3)) chars[at] = chars[at]!.toUpperCase();
    }
    request.target = joinTarget(chars.join(''), query);
    return { description: 'percent-encoded characters of the path' };
  },
  cut: (request, random) => {
    const at = random.int(request.target.length + 1);
    request.target = random.chance(0.5) ? request.target.slice(0, at) || '/' : `${request.target.slice(0, at)}${junk(random, 12)}${request.target.slice(at)}`;
    return { description: 'target cut or spliced' };
  },
  'raw-target': (request, random) => {
    // Bytes that are not allowed in a request target; the HTTP parser should refuse them.
    const raw = random.pick(['\u0000', '\t', '\u007f', '\u00e4', '\u00ff', '#frag', ' x', '\u0001']);
    const at = random.int(request.target.length + 1);
    request.target = `${request.target.slice(0, at)}${raw}${request.target.slice(at)}`;
    return { description: `raw byte ${JSON.stringify(raw)} in the target` };
  },
  'absolute-target': (request) => {
    request.target = absoluteForm(request.target);
    return { description: 'absolute-form target' };
  },
  query: (request, random) => {
    const { path, query } = splitTarget(request.target);
    const key = random.pick(['digest', 'n', 'last', 'mount', 'from', 'tag', 'artifactType', 'digest-algorithm', '_state', 'n[]']);
    const value = key === 'n' ? random.pick(hostileNumbers) : random.chance(0.8) ? random.pick(hostileQueryValues) : junk(random);
    const params = random.chance(0.5) && query ? `${query}&${key}=${value}` : `${key}=${value}`;
    request.target = joinTarget(path, random.chance(0.1) ? `${params}&%&=&&` : params);
    return { description: `query ${key}=${JSON.stringify(value)}` };
  },
  'content-range': (request, random) => {
    const value = random.chance(0.8) ? random.pick(contentRanges) : `${random.int(100_000)}-${random.int(100_000)}`;
    setHeader(request, 'Content-Range', value);
    return { description: `Content-Range ${JSON.stringify(value)}` };
  },
  range: (request, random) => {
    const value = random.chance(0.8) ? random.pick(ranges) : `bytes=${random.int(3000)}-${random.int(3000)}`;
    setHeader(request, 'Range', value);
    return { description: `Range ${JSON.stringify(value)}` };
  },
  'content-length': (request, random) => {
    const length = bodyBytes(request).length;
    const choice = random.int(3);
    const value = choice === 0 ? random.pick(contentLengths) : String(Math.max(0, length + (choice === 1 ? -random.between(1, 10) : random.between(1, 10))));
    if (Array.isArray(request.body)) request.body = bodyBytes(request);
    setHeader(request, 'Content-Length', value);
    return { description: `Content-Length ${JSON.stringify(value)} for ${length} bytes`, framingBroken: true };
  },
  'transfer-encoding': (request, random) => {
    const value = random.pick(['chunked', 'gzip', 'chunked, chunked', 'identity', 'gzip, chunked', '']);
    setHeader(request, 'Transfer-Encoding', value);
    return { description: `Transfer-Encoding ${JSON.stringify(value)}`, framingBroken: true };
  },
  'content-type': (request, random) => {
    const value = random.chance(0.9) ? random.pick(contentTypes) : junk(random);
    setHeader(request, 'Content-Type', value);
    return { description: `Content-Type ${JSON.stringify(value.slice(0, 80))}` };
  },
  authorization: (request, random) => {
    const value = random.chance(0.9) ? random.pick(authorizations) : `Basic ${Buffer.from(junk(random)).toString('base64')}`;
    setHeader(request, 'Authorization', value);
    return { description: `Authorization ${JSON.stringify(value.slice(0, 80))}` };
  },
  'other-header': (request, random) => {
    const [name, value] = random.pick<[string, string]>([
      ['Accept', junk(random)],
      ['Accept', '*/*;q=0'],
      ['If-None-Match', '*'],
      ['If-None-Match', `"${'x'.repeat(100)}"`],
      ['Expect', '100-continue'],
      ['Expect', 'nothing'],
      ['Host', ''],
      ['Host', 'evil.example:1'],
      ['X-Forwarded-Proto', 'javascript'],
      ['X-Forwarded-Host', '../../'],
      ['Docker-Upload-UUID', '../../canary'],
      ['X-Big', 'b'.repeat(random.pick([1000, 20_000, 70_000]))],
    ]);
    setHeader(request, name, value);
    return { description: `header ${name}: ${JSON.stringify(value.slice(0, 60))}` };
  },
  'http-version': (request, random) => {
    request.version = random.pick(['HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 x']);
    return { description: `request line ends in ${request.version}`, framingBroken: request.version === 'HTTP/1.0' && Array.isArray(request.body) };
  },
  'raw-header': (request, random) => {
    // Header lines that request smuggling plays with; the HTTP parser must refuse or read them one way.
    const length = String(Buffer.isBuffer(request.body) ? request.body.length : 0);
    const [name, value] = random.pick<[string, string]>([
      ['Content-Length ', length],
      ['Content-Length', `${length}, ${length}`],
      ['Content-Length', `${length}, 1`],
      ['Transfer-Encoding', 'chunked'],
      ['X Bad', 'x'],
      ['X-Folded', 'a\r\n b'],
      ['X-Nul', 'a\u0000b'],
      ['X-Bare-CR', 'a\rb'],
      ['', 'empty name'],
      ['X-Latin', '\u00e4\u00ff'],
    ]);
    request.headers.push([name, value]);
    return { description: `raw header ${JSON.stringify(`${name}: ${value}`)}`, framingBroken: true };
  },
  'drop-header': (request, random) => {
    if (request.headers.length === 0) return { description: 'no header to drop' };
    const [name] = request.headers.splice(random.int(request.headers.length), 1)[0]!;
    return { description: `dropped ${name}` };
  },
  'body-bytes': (request, random) => {
    const bytes = Buffer.from(bodyBytes(request));
    const choice = random.int(5);
    let body: Buffer;
    if (choice === 0 && bytes.length > 0) {
      for (let i = random.between(1, 4); i > 0; i--) bytes[random.int(bytes.length)] = random.int(256);
      body = bytes;
    } else if (choice === 1) {
      body = bytes.subarray(0, random.int(bytes.length + 1));
    } else if (choice === 2) {
      body = Buffer.concat([bytes, random.bytes(random.between(1, 300))]);
    } else if (choice === 3) {
      body = Buffer.alloc(0);
    } else {
      body = random.bytes(random.int(2000));
    }
    request.body = Array.isArray(request.body) && body.length > 0 ? [body] : body;
    return { description: `body bytes changed (${body.length} bytes now)` };
  },
  'body-json': (request, random, world) => {
    const { body, description } = mutateJson(bodyBytes(request), random, world);
    request.body = body;
    return { description };
  },
  'body-large': (request, random) => {
    // Past the 4 MiB manifest limit, or just a lot of bytes for an upload.
    const size = random.pick([4 * 1024 * 1024 + 1, 300_000]);
    request.body = Buffer.alloc(size, random.pick(['{', ' ', 'a', '[']));
    return { description: `body of ${size} bytes` };
  },
};

/** `http://host/path`, as a proxy would be sent it. */
function absoluteForm(target: string): string {
  return `http://127.0.0.1${target.startsWith('/') ? '' : '/'}${target}`;
}

/** How often each mutator is picked, relative to the others. */
const weights: Readonly<Record<string, number>> = {
  method: 3,
  name: 6,
  reference: 6,
  segments: 3,
  encode: 2,
  cut: 2,
  'raw-target': 1,
  'absolute-target': 1,
  query: 6,
  'content-range': 4,
  range: 3,
  'content-length': 1,
  'transfer-encoding': 1,
  'content-type': 4,
  authorization: 2,
  'other-header': 2,
  'http-version': 0.5,
  'raw-header': 1,
  'drop-header': 2,
  'body-bytes': 5,
  'body-json': 8,
  'body-large': 0.3,
};

const weighted = Object.entries(weights);
const totalWeight = weighted.reduce((sum, [, weight]) => sum + weight, 0);

function pickMutator(random: Random): [string, Mutator] {
  let left = random.next() * totalWeight;
  for (const [name, weight] of weighted) {
    left -= weight;
    if (left < 0) return [name, mutators[name]!];
  }
  const [name] = weighted.at(-1)!;
  return [name, mutators[name]!];
}

/** Applies 1–3 random mutations to the request, in place, and says what they were. */
export function mutate(request: WireRequest, random: Random, world: FuzzWorld): Mutation[] {
  const applied: Mutation[] = [];
  for (let i = random.between(1, 3); i > 0; i--) {
    const [name, mutator] = pickMutator(random);
    const mutation = mutator(request, random, world);
    applied.push({ ...mutation, description: `${name}: ${mutation.description}` });
  }
  return applied;
}
