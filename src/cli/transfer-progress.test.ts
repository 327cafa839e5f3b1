import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Descriptor } from '../image/descriptor.js';
import { displayMode, transferDisplay, transferSummary } from './transfer-progress.js';

const layer: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'ab'.repeat(32)}`, size: 3 * 1024 * 1024 };

/** A stream that keeps what is written, with or without a terminal. */
function capture(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = { isTTY, text: '', write(chunk: string) {
    stream.text += chunk;
    return true;
  } };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

describe('transfer progress', () => {
  it('picks bars on a terminal, plain lines elsewhere, nothing with --json', () => {
    assert.equal(displayMode(false, capture(true)), 'terminal');
    assert.equal(displayMode(false, capture(false)), 'plain');
    assert.equal(displayMode(true, capture(true)), 'quiet');
  });

  it('writes one plain line per blob: copied with its size and rate, or found', () => {
    const out = capture(false);
    const display = transferDisplay('plain', out);
    display.events.blobStarted!(layer);
    display.events.blobProgress?.(layer, 1024);
    display.events.blobDone!(layer, 'copied');
    display.events.blobDone!({ ...layer, digest: `sha256:${'cd'.repeat(32)}` }, 'exists');
    display.events.blobDone!({ ...layer, digest: `sha256:${'ef'.repeat(32)}` }, 'mounted');
    display.stop();
    const lines = out.text.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^abababababab: copied 3\.0 MiB in \d+\.\d s/);
    assert.equal(lines[1], 'cdcdcdcdcdcd: already there (3.0 MiB)');
    assert.equal(lines[2], 'efefefefefef: mounted (3.0 MiB)');
    assert.ok(!out.text.includes('\r'), 'no carriage returns in CI logs');
  });

  it('sums a transfer up for people', () => {
    const text = transferSummary('pushed', 'reg:5000/team/app:v1', { root: layer, copiedBlobs: 2, copiedBytes: 2 * 1024 * 1024, existingBlobs: 1, mountedBlobs: 3, manifests: 1 }, 2);
    assert.match(text, /^pushed reg:5000\/team\/app:v1\n/);
    assert.match(text, /2 copied \(2\.0 MiB\), 3 mounted, 1 already there; manifests: 1; 2\.0 s, 1\.0 MiB\/s/);
  });
});
