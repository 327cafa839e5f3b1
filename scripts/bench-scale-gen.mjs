#!/usr/bin/env node
// Companion of scripts/bench-scale.sh (plain Node, no dependencies): writes registry content
// straight into Distribution's filesystem layout (ROOT/docker/registry/v2/...), much faster than
// pushing it (100,000 repositories in about a minute instead of an hour of HTTP).
//
//   node scripts/bench-scale-gen.mjs repos ROOT PREFIX N       repositories PREFIX000000..., each
//                                                              tagging one shared small image `latest`
//   node scripts/bench-scale-gen.mjs tags ROOT REPO N          REPO with tags tag-000000... all
//                                                              pointing at that shared image
//   node scripts/bench-scale-gen.mjs images ROOT REPO N SEED   REPO with N distinct images (one 4 KiB
//                                                              layer + config each), tags img-000000...
//
// Links are written exactly as Distribution writes them ("sha256:<hex>", no newline); the blobs
// exist, so every image can be pulled.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Buffer } from 'node:buffer';
import process from 'node:process';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function writeBlob(root, data) {
  const hex = sha256(data);
  const dir = path.join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex);
  if (!fs.existsSync(path.join(dir, 'data'))) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'data'), data);
  }
  return hex;
}

function link(file, hex) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `sha256:${hex}`);
}

/** One image: its layer and config blobs and its manifest blob; returns the hex digests. */
function writeImage(root, layer, label) {
  const layerHex = writeBlob(root, layer);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Labels: { 'bench-scale': label } },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerHex}`] },
  }));
  const configHex = writeBlob(root, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${configHex}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerHex}`, size: layer.length }],
  }));
  return { layerHex, configHex, manifestHex: writeBlob(root, manifest) };
}

function repoDir(root, repo) {
  return path.join(root, 'docker/registry/v2/repositories', repo);
}

/** The links that make img part of repo (layers, config, manifest revision). */
function linkImage(dir, img) {
  link(path.join(dir, '_layers/sha256', img.layerHex, 'link'), img.layerHex);
  link(path.join(dir, '_layers/sha256', img.configHex, 'link'), img.configHex);
  link(path.join(dir, '_manifests/revisions/sha256', img.manifestHex, 'link'), img.manifestHex);
}

function tag(dir, name, img) {
  link(path.join(dir, '_manifests/tags', name, 'current/link'), img.manifestHex);
  link(path.join(dir, '_manifests/tags', name, 'index/sha256', img.manifestHex, 'link'), img.manifestHex);
}

/** The small image every repository of `repos` and every tag of `tags` points at. */
function sharedImage(root) {
  return writeImage(root, Buffer.alloc(4096, 7), 'shared');
}

const pad = (i) => String(i).padStart(6, '0');

function main([mode, root, name, countText, seedText]) {
  const n = Number(countText);
  if (!root || !name || !Number.isInteger(n) || n < 0) {
    process.stderr.write('usage: bench-scale-gen.mjs repos|tags|images ROOT NAME N [SEED]\n');
    return 2;
  }
  const started = Date.now();
  if (mode === 'repos') {
    const img = sharedImage(root);
    for (let i = 0; i < n; i++) {
      const dir = repoDir(root, `${name}${pad(i)}`);
      linkImage(dir, img);
      tag(dir, 'latest', img);
    }
  } else if (mode === 'tags') {
    const img = sharedImage(root);
    const dir = repoDir(root, name);
    linkImage(dir, img);
    for (let i = 0; i < n; i++) tag(dir, `tag-${pad(i)}`, img);
  } else if (mode === 'images') {
    // Layers from a keyed stream, so that different SEEDs never share a blob.
    const seed = seedText ?? 'fill';
    const dir = repoDir(root, name);
    for (let i = 0; i < n; i++) {
      const layer = crypto.createHash('sha512').update(`${seed}/${i}`).digest();
      const img = writeImage(root, Buffer.concat(Array.from({ length: 64 }, () => layer)), `${seed}/${i}`);
      linkImage(dir, img);
      tag(dir, `img-${pad(i)}`, img);
    }
  } else {
    process.stderr.write(`bench-scale-gen: unknown mode ${JSON.stringify(mode)}\n`);
    return 2;
  }
  process.stderr.write(`bench-scale-gen: ${mode} ${name} ×${n} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
