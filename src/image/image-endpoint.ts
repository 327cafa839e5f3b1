import type { Readable } from 'node:stream';
import type { Descriptor } from './descriptor.js';

/**
 * The two ends of every image transfer. `berth push` reads an OCI layout or a `docker save`
 * tarball and writes to a registry, `berth pull` does the reverse, and `berth copy` goes from
 * one registry to another: one graph walk (transfer.ts) serves all three through these
 * contracts.
 */

/** Where an image is read from. */
export interface ImageSource {
  /**
   * The descriptor of the manifest or index the user named (by tag, by digest, or the only
   * image the source holds). Throws when the source does not hold it.
   */
  root(): Promise<Descriptor>;
  /**
   * The whole content of a small object (manifest, index, config), verified against the
   * descriptor's digest and size. Throws when missing or when the bytes do not match.
   */
  fetchBytes(descriptor: Descriptor): Promise<Buffer>;
  /**
   * A stream of a blob's bytes starting at `offset` (0 by default), so an interrupted upload
   * can go on from where the destination stopped. The caller verifies the digest.
   */
  openBlob(descriptor: Descriptor, offset?: number): Promise<Readable>;
  /** Releases open files or connections; safe to call twice. */
  close(): Promise<void>;
}

/** Where an image is written. Blobs come first, then manifests children-first, then finish(). */
export interface ImageSink {
  /** True when the destination already holds this blob (it is then not written again). */
  hasBlob(descriptor: Descriptor): Promise<boolean>;
  /**
   * Stores a blob. `open(offset)` yields the source's bytes from that offset; a sink that
   * resumes after a dropped connection calls it again. `onProgress` gets the bytes written so
   * far. The blob is visible only once complete and verified. Resolves to `mounted` when the
   * destination took it from a place it already had (a cross-repository mount), without bytes.
   */
  writeBlob(descriptor: Descriptor, open: (offset: number) => Promise<Readable>, onProgress?: (written: number) => void): Promise<'written' | 'mounted'>;
  /** Stores a manifest or index (by digest: children of an index, and the root before it is named). */
  writeManifest(descriptor: Descriptor, bytes: Buffer): Promise<void>;
  /** Names the root (tags it, or records it in index.json) and completes the destination. */
  finish(root: Descriptor): Promise<void>;
  /** Releases resources, removing anything incomplete when finish() was not reached. Safe to call twice. */
  close(): Promise<void>;
}
