import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prettyJson, splitDigests } from './json-digests.js';

const a = `sha256:${'a'.repeat(64)}`;
const b = `sha256:${'b'.repeat(64)}`;

describe('digests in manifest JSON', () => {
  it('cuts out every digest value and keeps all other text', () => {
    const json = prettyJson(JSON.stringify({ config: { digest: a }, layers: [{ digest: b, annotations: { note: `not ${a}` } }] }));
    const pieces = splitDigests(json);
    assert.deepEqual(
      pieces.filter((piece) => 'digest' in piece),
      [{ digest: a }, { digest: b }],
    );
    assert.equal(pieces.map((piece) => ('text' in piece ? piece.text : piece.digest)).join(''), json);
  });

  it('leaves text that is not JSON as it is', () => {
    assert.equal(prettyJson('{oops'), '{oops');
    assert.deepEqual(splitDigests('plain'), [{ text: 'plain' }]);
  });
});
