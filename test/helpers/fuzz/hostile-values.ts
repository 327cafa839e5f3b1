import type { Random } from './random.js';

/**
 * Values that have broken servers before: path traversal in its encodings, NUL, encoded
 * slashes, overlong names, numbers past 2^53, malformed percent escapes. The canary directory
 * beside the storage root is `../canary` from the root, so traversals name it.
 */
export const hostileSegments = [
  '..',
  '.',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '%2e.',
  '..%2f..%2fcanary',
  '..%2F..%2F..%2Fcanary',
  '%2e%2e%2f%2e%2e%2fcanary',
  '%252e%252e%252fcanary',
  '..\\..\\canary',
  '..%5c..%5ccanary',
  '%00',
  'a%00b',
  'a%0ab',
  'a%0d%0ab',
  '%',
  '%zz',
  '%c0%ae%c0%ae',
  '%C3%A4',
  '_uploads',
  '_manifests',
  '_layers',
  '.tmp-0000',
  'A',
  '-',
  '~',
  '*',
  'sha256:..',
  'sha256:%2e%2e',
];

export const hostileNames = [
  ...hostileSegments,
  '../canary',
  '../../canary',
  'fuzz/../canary',
  'fuzz/app/..',
  'fuzz/app/../../canary',
  'fuzz%2fapp',
  'fuzz%2Fapp',
  'fuzz//app',
  'fuzz/app/',
  '/fuzz/app',
  'fuzz/app%00',
  'fuzz/app/_uploads',
  'fuzz/app/_manifests/tags',
  'fuzz/_layers',
  'FUZZ/APP',
  'fuzz/app.',
  'fuzz/app-',
  'a'.repeat(255),
  'a'.repeat(256),
  'a'.repeat(4000),
  `${'a/'.repeat(150)}b`,
  'docker/registry/v2/repositories/fuzz/app',
];

export const hostileReferences = [
  ...hostileSegments,
  'a'.repeat(128),
  'a'.repeat(129),
  '-tag',
  '.tag',
  'tag:tag',
  `sha256:${'0'.repeat(63)}`,
  `sha256:${'0'.repeat(65)}`,
  `sha256:${'A'.repeat(64)}`,
  `sha512:${'0'.repeat(64)}`,
  `sha512:${'0'.repeat(128)}`,
  `md5:${'0'.repeat(32)}`,
  `sha256+b64:${'A'.repeat(43)}=`,
  'sha256:',
  ':',
  `sha256:${'0'.repeat(62)}%2e%2e`,
  `sha256:../../../../canary`,
  `sha256%3a${'0'.repeat(64)}`,
];

export const hostileNumbers = [
  '',
  '0',
  '-1',
  '-0',
  '1.5',
  '1e3',
  '0x10',
  ' 1',
  '1 ',
  '+1',
  'NaN',
  'Infinity',
  '9007199254740993',
  '99999999999999999999999',
  '10001',
  '4294967296',
  '%31',
  'one',
];

export const hostileQueryValues = [...new Set([...hostileNumbers, ...hostileNames, ...hostileReferences])];

export const contentRanges = [
  '0-0',
  '0-',
  '-0',
  '1-0',
  '0--1',
  '-1-5',
  '0-99999999999999999999',
  '99999999999999999998-99999999999999999999',
  '9007199254740991-9007199254740992',
  'bytes 0-9/10',
  'bytes 0-9/*',
  'bytes=0-9',
  'bytes */10',
  '0-9,10-19',
  ' 0-9 ',
  'abc',
  '',
  '00-09',
  '1-1',
];

export const ranges = [
  'bytes=0-',
  'bytes=-0',
  'bytes=0-0',
  'bytes=5-1',
  'bytes=-1',
  'bytes=-99999999999999999999',
  'bytes=99999999999999999999-',
  'bytes=0-99999999999999999999',
  'bytes=0-1,3-4',
  'bytes=',
  'bytes=-',
  'items=0-1',
  'bytes=1-2-3',
  'bytes= 1-2',
  '',
];

export const contentLengths = ['-1', 'abc', '1e3', ' 5', '0x10', '99999999999999999999', '1.0', '', '+5'];

export const contentTypes = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.oci.image.manifest.v1+json; charset=utf-8',
  'APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=x',
  '',
  ';',
  'a'.repeat(5000),
];

export const authorizations = [
  'Basic',
  'Basic ',
  'Basic Og==',
  'Basic =',
  'Basic !!!!',
  'Basic YWRtaW46',
  'Basic OmFkbWlu',
  'Bearer',
  'Bearer ',
  'Bearer x.y.z',
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJyb290In0.',
  'Digest username="root"',
  'basic cm9vdDpyb290',
  'Negotiate YII=',
  `Basic ${'A'.repeat(6000)}`,
];

/** Random text over an alphabet that is rich in the characters paths and parsers care about. */
export function junk(random: Random, maxLength = 40): string {
  return random.text(random.int(maxLength + 1), 'aZ09._-/:%@+=;,~*?&#!$\'()[]{}"<>\\^`| ');
}
