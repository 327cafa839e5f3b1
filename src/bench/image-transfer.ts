import { performance } from 'node:perf_hooks';
import { mediaTypes } from '../image/descriptor.js';
import type { BenchRun } from './bench-run.js';
import type { BenchImage } from './images.js';
import type { RegistryCalls } from './registry-calls.js';

/**
 * Whole images moved the way docker moves them. Push: HEAD each layer and the config, upload
 * those absent (POST, PUT), then PUT the manifest by tag. Pull: GET the manifest by tag, then
 * GET the config and every layer it lists, each hashed as it streams in.
 */

/** Pushes `image` to `repo`; counts blobs uploaded and skipped on `run`; times `image-push`. */
export async function pushImage(calls: RegistryCalls, run: BenchRun, repo: string, image: BenchImage): Promise<void> {
  const start = performance.now();
  for (const [index, blob] of image.blobs.entries()) {
    if (await calls.blobExists(repo, blob)) {
      run.count('blobs_skipped');
      // Only shared base layers may already be there: anything else means a reused prefix.
      if (index >= image.shared) run.count('blobs_preexisting');
      continue;
    }
    await calls.uploadMonolithic(repo, blob);
    run.count('blobs_uploaded');
  }
  await calls.putManifest(repo, image.tag, image.manifest, mediaTypes.ociManifest);
  calls.metrics.operationDone('image-push', performance.now() - start);
}

/** What a pull needs to know of a pushed image (kept small: a soak remembers every image it pushed). */
export interface PushedImage {
  tag: string;
  /** Digest and size of its manifest. */
  digest: string;
  size: number;
}

/** The pull-side record of an image. */
export function pushedImage(image: BenchImage): PushedImage {
  return { tag: image.tag, digest: image.manifest.digest, size: image.manifest.size };
}

/** Pulls `image` from `repo` by tag, checking every digest; times `image-pull`. */
export async function pullImage(calls: RegistryCalls, repo: string, image: PushedImage): Promise<void> {
  const start = performance.now();
  const bytes = await calls.getManifest(repo, image.tag, image.digest);
  const manifest = JSON.parse(bytes.toString('utf8')) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
  for (const descriptor of [manifest.config, ...manifest.layers]) {
    await calls.getBlob(repo, descriptor.digest, descriptor.size);
  }
  calls.metrics.operationDone('image-pull', performance.now() - start);
}
