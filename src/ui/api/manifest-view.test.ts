import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mediaTypes } from '../../protocol/media-types.js';
import { maxJsonDepth, platformText, viewManifest } from './manifest-view.js';

const digest = (fill: string) => `sha256:${fill.repeat(64)}`;
const bytes = (value: object | string) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('viewManifest', () => {
  test('a Docker image: image kind, its config, every layer (foreign ones too) with annotations', () => {
    const view = viewManifest(
      bytes({
        schemaVersion: 2,
        mediaType: mediaTypes.dockerManifest,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: digest('a'), size: 10 },
        layers: [
          { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: digest('b'), size: 20, annotations: { note: 'x', bad: 1 } },
          { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: digest('c'), size: 30, urls: ['https://example.invalid/l'] },
        ],
      }),
    );
    assert.equal(view.kind, 'image');
    assert.equal(view.layout, 'image');
    assert.equal(view.artifactType, undefined);
    assert.equal(view.config?.digest, digest('a'));
    assert.deepEqual(
      view.layers.map((layer) => [layer.size, layer.annotations]),
      [
        [20, { note: 'x' }],
        [30, undefined],
      ],
    );
  });

  test('a Docker manifest list: index kind, children with platforms and artifact types', () => {
    const view = viewManifest(
      bytes({
        schemaVersion: 2,
        mediaType: mediaTypes.dockerManifestList,
        manifests: [
          { mediaType: mediaTypes.dockerManifest, digest: digest('d'), size: 5, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
          { mediaType: mediaTypes.ociManifest, digest: digest('e'), size: 6, artifactType: 'application/vnd.example' },
        ],
      }),
    );
    assert.equal(view.kind, 'index');
    assert.deepEqual(
      view.manifests.map((child) => [child.platform, child.artifactType]),
      [
        ['linux/arm64/v8', undefined],
        [undefined, 'application/vnd.example'],
      ],
    );
    assert.deepEqual(view.layers, []);
  });

  test('an index with artifactType is an artifact; bytes the parser refuses are other', () => {
    const artifactIndex = viewManifest(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, artifactType: 'application/vnd.example.bundle', manifests: [] }));
    assert.equal(artifactIndex.kind, 'artifact');
    assert.equal(artifactIndex.layout, 'index');
    assert.equal(artifactIndex.artifactType, 'application/vnd.example.bundle');
    for (const junk of ['not json', '[]', JSON.stringify({ schemaVersion: 1, name: 'old' })]) {
      const view = viewManifest(bytes(junk));
      assert.equal(view.kind, 'other', junk);
      assert.equal(view.layout, 'other', junk);
    }
    // Valid but nested deeper than maxJsonDepth (another registry stored it): shown as text only.
    const deep = `{"schemaVersion":2,"mediaType":"${mediaTypes.ociIndex}","manifests":[],"x":${'['.repeat(maxJsonDepth)}${']'.repeat(maxJsonDepth)}}`;
    assert.equal(viewManifest(bytes(deep)).kind, 'other');
    assert.equal(viewManifest(bytes(deep.replace(/\[\[/, '[').replace(/\]\]/, ']'))).kind, 'index', 'one level less is read');
  });

  test('platformText needs os and architecture; variant is optional', () => {
    assert.equal(platformText({ os: 'windows', architecture: 'amd64' }), 'windows/amd64');
    assert.equal(platformText({ os: 'linux', architecture: 'arm', variant: 'v6' }), 'linux/arm/v6');
    assert.equal(platformText({ os: 'linux' }), undefined);
    assert.equal(platformText('linux/amd64'), undefined);
  });
});
