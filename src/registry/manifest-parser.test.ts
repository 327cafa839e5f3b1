import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digestBytes } from '../protocol/digest.js';
import { RegistryError } from '../protocol/errors.js';
import { mediaTypes } from '../protocol/media-types.js';
import { parseManifest, storedMediaType, type ParsedManifest } from './manifest-parser.js';

const configDigest = digestBytes(Buffer.from('config')).text;
const layerDigest = digestBytes(Buffer.from('layer')).text;
const foreignDigest = digestBytes(Buffer.from('foreign layer')).text;
const childDigest = digestBytes(Buffer.from('child manifest')).text;

const ociConfig = 'application/vnd.oci.image.config.v1+json';
const ociLayer = 'application/vnd.oci.image.layer.v1.tar+gzip';
const dockerConfig = 'application/vnd.docker.container.image.v1+json';
const dockerLayer = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const dockerForeign = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

function ociImage(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: { mediaType: ociConfig, digest: configDigest, size: 6 },
    layers: [{ mediaType: ociLayer, digest: layerDigest, size: 5 }],
    ...extra,
  };
}

function ociIndex(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: mediaTypes.ociIndex,
    manifests: [
      { mediaType: mediaTypes.ociManifest, digest: childDigest, size: 14, platform: { os: 'linux', architecture: 'amd64' } },
    ],
    ...extra,
  };
}

function parse(body: unknown, contentType?: string): ParsedManifest {
  return parseManifest(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), contentType);
}

/** Asserts MANIFEST_INVALID (400) whose message matches, as the client will read it. */
function assertInvalid(body: unknown, contentType: string | undefined, message: RegExp): void {
  assert.throws(
    () => parse(body, contentType),
    (error: unknown) => {
      assert.ok(error instanceof RegistryError, `expected RegistryError, got ${String(error)}`);
      assert.equal(error.code, 'MANIFEST_INVALID');
      assert.equal(error.status, 400);
      assert.match(error.message, message);
      return true;
    },
  );
}

const digests = (descriptors: readonly { digest: { text: string } }[]) => descriptors.map((d) => d.digest.text);

describe('parseManifest: image manifests', () => {
  test('an OCI image manifest lists its config and layers as required blobs', () => {
    const parsed = parse(ociImage({ annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' } }), mediaTypes.ociManifest);
    assert.equal(parsed.kind, 'image');
    assert.equal(parsed.mediaType, mediaTypes.ociManifest);
    assert.deepEqual(digests(parsed.blobs), [configDigest, layerDigest]);
    assert.deepEqual(parsed.children, []);
    assert.equal(parsed.subject, undefined);
    assert.deepEqual(parsed.annotations, { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' });
    assert.equal(parsed.blobs[1]!.size, 5);
    assert.equal(parsed.blobs[1]!.mediaType, ociLayer);
  });

  test('a Docker schema 2 manifest is an image too', () => {
    const body = {
      schemaVersion: 2,
      mediaType: mediaTypes.dockerManifest,
      config: { mediaType: dockerConfig, digest: configDigest, size: 6 },
      layers: [{ mediaType: dockerLayer, digest: layerDigest, size: 5 }],
    };
    const parsed = parse(body, mediaTypes.dockerManifest);
    assert.equal(parsed.kind, 'image');
    assert.equal(parsed.mediaType, mediaTypes.dockerManifest);
    assert.deepEqual(digests(parsed.blobs), [configDigest, layerDigest]);
  });

  test('an image without layers needs only its config (artifacts)', () => {
    const parsed = parse(ociImage({ layers: [] }));
    assert.deepEqual(digests(parsed.blobs), [configDigest]);
    const noLayersKey = ociImage();
    delete noLayersKey.layers;
    assert.deepEqual(digests(parse(noLayersKey).blobs), [configDigest]);
  });

  test('foreign layers with urls are not required blobs; layers with an empty urls list are', () => {
    const body = ociImage({
      mediaType: mediaTypes.dockerManifest,
      config: { mediaType: dockerConfig, digest: configDigest, size: 6 },
      layers: [
        { mediaType: dockerForeign, digest: foreignDigest, size: 13, urls: ['https://example.com/layer.tar.gz'] },
        { mediaType: dockerLayer, digest: layerDigest, size: 5, urls: [] },
      ],
    });
    const parsed = parse(body, mediaTypes.dockerManifest);
    assert.deepEqual(digests(parsed.blobs), [configDigest, layerDigest]);
  });

  test('artifactType is taken as declared, else falls back to the config media type', () => {
    assert.equal(parse(ociImage()).artifactType, ociConfig);
    assert.equal(parse(ociImage({ artifactType: 'application/vnd.example.sbom' })).artifactType, 'application/vnd.example.sbom');
    const emptyConfig = ociImage({
      artifactType: 'application/vnd.example.signature',
      config: { mediaType: mediaTypes.ociEmpty, digest: configDigest, size: 2 },
    });
    assert.equal(parse(emptyConfig).artifactType, 'application/vnd.example.signature');
    // An empty artifactType says nothing: the config media type stands in.
    assert.equal(parse(ociImage({ artifactType: '' })).artifactType, ociConfig);
  });

  test('a subject descriptor is parsed for the referrers API', () => {
    const subject = { mediaType: mediaTypes.ociManifest, digest: childDigest, size: 14 };
    const parsed = parse(ociImage({ subject }));
    assert.equal(parsed.subject?.digest.text, childDigest);
    assert.equal(parsed.subject?.mediaType, mediaTypes.ociManifest);
    assert.equal(parsed.subject?.size, 14);
  });
});

describe('parseManifest: indexes', () => {
  test('an OCI index lists child manifests, no blobs', () => {
    const parsed = parse(ociIndex(), mediaTypes.ociIndex);
    assert.equal(parsed.kind, 'index');
    assert.equal(parsed.mediaType, mediaTypes.ociIndex);
    assert.deepEqual(digests(parsed.children), [childDigest]);
    assert.deepEqual(parsed.blobs, []);
    assert.equal(parsed.artifactType, undefined);
  });

  test('a Docker manifest list is an index too', () => {
    const body = {
      schemaVersion: 2,
      mediaType: mediaTypes.dockerManifestList,
      manifests: [{ mediaType: mediaTypes.dockerManifest, digest: childDigest, size: 14, platform: { os: 'linux', architecture: 'arm64' } }],
    };
    const parsed = parse(body, mediaTypes.dockerManifestList);
    assert.equal(parsed.kind, 'index');
    assert.equal(parsed.mediaType, mediaTypes.dockerManifestList);
    assert.deepEqual(digests(parsed.children), [childDigest]);
  });

  test('an empty index is valid; its artifactType and subject are kept', () => {
    const subject = { mediaType: mediaTypes.ociManifest, digest: layerDigest, size: 5 };
    const parsed = parse(ociIndex({ manifests: [], artifactType: 'application/vnd.example.bundle', subject }));
    assert.deepEqual(parsed.children, []);
    assert.equal(parsed.artifactType, 'application/vnd.example.bundle');
    assert.equal(parsed.subject?.digest.text, layerDigest);
  });

  test('manifests must be an array of descriptors, named by position', () => {
    assertInvalid(ociIndex({ manifests: {} }), undefined, /manifests must be an array/);
    assertInvalid(ociIndex({ manifests: [{ mediaType: mediaTypes.ociManifest, digest: 'sha256:nope', size: 1 }] }), undefined, /manifests\[0\]\.digest/);
    const noManifests = ociIndex();
    delete noManifests.manifests;
    assertInvalid(noManifests, undefined, /manifests must be an array/);
  });
});

describe('parseManifest: mediaType and Content-Type', () => {
  test('they must agree when both name a manifest type', () => {
    assertInvalid(ociImage(), mediaTypes.dockerManifest, /mediaType .*oci\.image\.manifest.* does not match Content-Type .*docker/);
    assertInvalid(ociIndex(), mediaTypes.ociManifest, /does not match Content-Type/);
    assertInvalid(ociImage(), mediaTypes.ociIndex, /does not match Content-Type/);
  });

  test('Content-Type parameters and case do not matter', () => {
    assert.equal(parse(ociImage(), `${mediaTypes.ociManifest}; charset=utf-8`).mediaType, mediaTypes.ociManifest);
    assert.equal(parse(ociImage(), 'Application/VND.OCI.Image.Manifest.V1+JSON').mediaType, mediaTypes.ociManifest);
  });

  test('a Content-Type that names no manifest type leaves the mediaType field in charge', () => {
    for (const contentType of [undefined, '', 'application/json', 'application/octet-stream']) {
      assert.equal(parse(ociImage(), contentType).mediaType, mediaTypes.ociManifest, String(contentType));
      assert.equal(parse(ociIndex(), contentType).kind, 'index', String(contentType));
    }
  });

  test('without a mediaType field, the Content-Type decides', () => {
    const image = ociImage();
    delete image.mediaType;
    assert.equal(parse(image, mediaTypes.dockerManifest).mediaType, mediaTypes.dockerManifest);
    assert.equal(parse(image, mediaTypes.ociManifest).mediaType, mediaTypes.ociManifest);
    const index = ociIndex();
    delete index.mediaType;
    const parsed = parse(index, mediaTypes.dockerManifestList);
    assert.equal(parsed.mediaType, mediaTypes.dockerManifestList);
    assert.equal(parsed.kind, 'index');
  });

  test('without either, the media type is inferred from the body', () => {
    const image = ociImage();
    delete image.mediaType;
    assert.equal(parse(image).mediaType, mediaTypes.ociManifest);
    assert.equal(parse(image, 'application/json').kind, 'image');
    const index = ociIndex();
    delete index.mediaType;
    const parsed = parse(index);
    assert.equal(parsed.mediaType, mediaTypes.ociIndex);
    assert.equal(parsed.kind, 'index');
  });

  test('an unknown or malformed mediaType is refused', () => {
    assertInvalid(ociImage({ mediaType: 'application/vnd.example+json' }), undefined, /unsupported manifest media type/);
    assertInvalid(ociImage({ mediaType: 'application/vnd.example+json' }), mediaTypes.ociManifest, /does not match/);
    assertInvalid(ociImage({ mediaType: 42 }), undefined, /mediaType must be a string/);
  });
});

describe('parseManifest: refusals', () => {
  const schema1 = {
    schemaVersion: 1,
    name: 'library/app',
    tag: 'latest',
    architecture: 'amd64',
    fsLayers: [{ blobSum: layerDigest }],
    history: [{ v1Compatibility: '{}' }],
  };

  test('Docker schema 1 is refused with a message that says what to do instead', () => {
    const expected = /schema 1 manifests are not supported.*schema 2 or OCI/;
    assertInvalid(schema1, undefined, expected);
    assertInvalid(schema1, mediaTypes.dockerSchema1, expected);
    assertInvalid(schema1, mediaTypes.dockerSchema1Signed, expected);
    assertInvalid({ ...schema1, mediaType: mediaTypes.dockerSchema1Signed }, undefined, expected);
    // The header alone is enough, whatever the body claims.
    assertInvalid(ociImage(), mediaTypes.dockerSchema1Signed, expected);
  });

  test('bytes that are not a JSON object', () => {
    assertInvalid('{"schemaVersion": 2,', undefined, /not valid JSON/);
    assertInvalid('', undefined, /not valid JSON/);
    assertInvalid('\xff\xfe', undefined, /not valid JSON/);
    assertInvalid('[]', undefined, /must be a JSON object/);
    assertInvalid('null', undefined, /must be a JSON object/);
    assertInvalid('"manifest"', undefined, /must be a JSON object/);
  });

  test('schemaVersion other than 2', () => {
    const missing = ociImage();
    delete missing.schemaVersion;
    assertInvalid(missing, undefined, /schemaVersion must be 2/);
    assertInvalid(ociImage({ schemaVersion: 3 }), undefined, /schemaVersion must be 2/);
    assertInvalid(ociImage({ schemaVersion: '2' }), undefined, /schemaVersion must be 2/);
  });

  test('bad descriptors are named by where they are', () => {
    const good = { mediaType: ociLayer, digest: layerDigest, size: 5 };
    const cases: [unknown, RegExp][] = [
      [ociImage({ config: undefined }), /config must be a descriptor object/],
      [ociImage({ config: 'sha256:abc' }), /config must be a descriptor object/],
      [ociImage({ config: { ...good, mediaType: undefined } }), /config\.mediaType must be a non-empty string/],
      [ociImage({ config: { ...good, mediaType: '' } }), /config\.mediaType must be a non-empty string/],
      [ociImage({ layers: 'nope' }), /layers must be an array/],
      [ociImage({ layers: [good, null] }), /layers\[1\] must be a descriptor object/],
      [ociImage({ layers: [good, { ...good, digest: 'sha256:1234' }] }), /layers\[1\]\.digest is not a valid digest/],
      [ociImage({ layers: [{ ...good, digest: layerDigest.toUpperCase() }] }), /layers\[0\]\.digest/],
      [ociImage({ layers: [{ ...good, digest: undefined }] }), /layers\[0\]\.digest/],
      [ociImage({ layers: [{ ...good, size: -1 }] }), /layers\[0\]\.size must be a non-negative integer/],
      [ociImage({ layers: [{ ...good, size: 1.5 }] }), /layers\[0\]\.size/],
      [ociImage({ layers: [{ ...good, size: '5' }] }), /layers\[0\]\.size/],
      [ociImage({ layers: [{ ...good, size: undefined }] }), /layers\[0\]\.size/],
      [ociImage({ layers: [{ ...good, size: 2 ** 60 }] }), /layers\[0\]\.size/],
      [ociImage({ layers: [{ ...good, urls: 'https://example.com' }] }), /layers\[0\]\.urls must be an array of strings/],
      [ociImage({ layers: [{ ...good, urls: [42] }] }), /layers\[0\]\.urls/],
      [ociImage({ subject: { ...good, digest: 'nope' } }), /subject\.digest/],
      [ociImage({ subject: null }), /subject must be a descriptor object/],
      [ociImage({ artifactType: 7 }), /artifactType must be a string/],
      [ociImage({ annotations: { a: 1 } }), /annotations must map strings to strings/],
      [ociImage({ annotations: ['a'] }), /annotations/],
      [ociIndex({ annotations: null }), /annotations/],
    ];
    for (const [body, message] of cases) assertInvalid(body, undefined, message);
  });

  test('a descriptor digest in an algorithm other than sha256 and sha512 is DIGEST_INVALID', () => {
    const good = { mediaType: ociLayer, digest: layerDigest, size: 5 };
    // sha384 is valid for go-digest (so Distribution takes it) but not registered by the OCI image spec.
    const sha384 = digestBytes(Buffer.from('layer'), 'sha512').hex.slice(0, 96);
    for (const digest of [`md5:${'a'.repeat(32)}`, `sha384:${sha384}`, `blake9:${'b'.repeat(64)}`]) {
      assert.throws(
        () => parse(ociImage({ layers: [{ ...good, digest }] })),
        (error: unknown) =>
          error instanceof RegistryError &&
          error.code === 'DIGEST_INVALID' &&
          error.status === 400 &&
          /layers\[0\]\.digest .* is not supported/.test(error.message),
      );
    }
  });

  test('sha512 descriptor digests are accepted', () => {
    const sha512 = digestBytes(Buffer.from('layer'), 'sha512').text;
    const parsed = parse(ociImage({ layers: [{ mediaType: ociLayer, digest: sha512, size: 5 }] }));
    assert.equal(parsed.blobs[1]!.digest.text, sha512);
    assert.equal(parsed.blobs[1]!.digest.algorithm, 'sha512');
  });

  test('nesting deeper than maxDepth is refused before parsing; without maxDepth it is not checked', () => {
    const deep = (levels: number) => Buffer.from(`${'['.repeat(levels)}${']'.repeat(levels)}`);
    assert.throws(
      () => parseManifest(deep(10_000), undefined, { maxDepth: 64 }),
      (error: unknown) =>
        error instanceof RegistryError && error.code === 'MANIFEST_INVALID' && /deeper than 64 levels/.test(error.message),
    );
    // Deep nesting hidden in a field the parser does not look at: 64 levels in all pass, 65 do not.
    const nested = (levels: number) => {
      let value: unknown = 'x';
      for (let i = 0; i < levels; i++) value = [value];
      return Buffer.from(JSON.stringify(ociImage({ extra: value })));
    };
    // The manifest object is one level; the extra field adds `levels` below it.
    assert.doesNotThrow(() => parseManifest(nested(63), undefined, { maxDepth: 64 }));
    assert.throws(() => parseManifest(nested(64), undefined, { maxDepth: 64 }), /deeper than 64 levels/);
    assert.throws(() => parseManifest(deep(10_000)), /must be a JSON object/);
  });

  test('the error detail carries the reason for clients that read it', () => {
    try {
      parse(ociImage({ layers: [{}] }));
      assert.fail('expected a refusal');
    } catch (error) {
      assert.ok(error instanceof RegistryError);
      assert.deepEqual(error.toBody().errors[0]!.detail, { reason: error.message });
    }
  });
});

describe('storedMediaType', () => {
  test('the mediaType field, or the type inferred from the body', () => {
    assert.equal(storedMediaType(Buffer.from(JSON.stringify(ociIndex()))), mediaTypes.ociIndex);
    assert.equal(storedMediaType(Buffer.from(JSON.stringify({ ...ociImage(), mediaType: mediaTypes.dockerManifest }))), mediaTypes.dockerManifest);
    const index = ociIndex();
    delete index.mediaType;
    assert.equal(storedMediaType(Buffer.from(JSON.stringify(index))), mediaTypes.ociIndex);
    const image = ociImage();
    delete image.mediaType;
    assert.equal(storedMediaType(Buffer.from(JSON.stringify(image))), mediaTypes.ociManifest);
  });

  test('bytes that are not a JSON object are served as an OCI manifest', () => {
    for (const text of ['not json', '[]', 'null', '']) {
      assert.equal(storedMediaType(Buffer.from(text)), mediaTypes.ociManifest, text);
    }
  });
});
