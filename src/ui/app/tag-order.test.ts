import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TagSummary } from './api-types.js';
import { defaultTag, orderTags } from './tag-order.js';

const tag = (name: string, size: number, created: string | null, pushedAt: string | null): TagSummary => ({
  tag: name,
  digest: `sha256:${name}`,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  kind: 'image',
  size,
  platforms: [],
  created,
  pushedAt,
});

const tags = [
  tag('v2', 300, '2025-01-02T00:00:00Z', '2025-03-01T00:00:00Z'),
  tag('V1', 100, '2025-01-03T00:00:00Z', '2025-01-01T00:00:00Z'),
  tag('dev', 200, null, '2025-02-01T00:00:00Z'),
  tag('beta', 200, '2025-01-01T00:00:00Z', null),
];

const names = (list: TagSummary[]): string[] => list.map((t) => t.tag);

describe('tag table order', () => {
  it('sorts by each column in both directions, ties by name', () => {
    assert.deepEqual(names(orderTags(tags, '', { key: 'tag', descending: false })), ['V1', 'beta', 'dev', 'v2']);
    assert.deepEqual(names(orderTags(tags, '', { key: 'size', descending: true })), ['v2', 'beta', 'dev', 'V1']);
    assert.deepEqual(names(orderTags(tags, '', { key: 'size', descending: false })), ['V1', 'beta', 'dev', 'v2']);
    assert.deepEqual(names(orderTags(tags, '', { key: 'created', descending: true })), ['V1', 'v2', 'beta', 'dev']);
    assert.deepEqual(names(orderTags(tags, '', { key: 'pushed', descending: true })), ['v2', 'dev', 'V1', 'beta']);
  });

  it('filters by a case-insensitive substring and leaves the input alone', () => {
    assert.deepEqual(names(orderTags(tags, ' v ', { key: 'tag', descending: false })), ['V1', 'dev', 'v2']);
    assert.deepEqual(names(tags), ['v2', 'V1', 'dev', 'beta']);
  });

  it('pulls latest by default, else the newest push', () => {
    assert.equal(defaultTag(tags), 'v2');
    assert.equal(defaultTag([...tags, tag('latest', 1, null, null)]), 'latest');
    assert.equal(defaultTag([]), undefined);
  });
});
