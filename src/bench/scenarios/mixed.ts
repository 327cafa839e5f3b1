import { performance } from 'node:perf_hooks';
import { attempt } from '../bench-run.js';
import { pullImage, pushedImage, pushImage, type PushedImage } from '../image-transfer.js';
import { benchImage } from '../images.js';
import { Budget, forBudget } from '../workers.js';
import type { MixWeights } from '../bench-options.js';
import { checkNames } from './list.js';
import type { Scenario } from './scenario.js';

type Kind = keyof MixWeights;

const countNames: Record<Kind, string> = { push: 'pushes', pull: 'pulls', get: 'manifest_gets', head: 'manifest_heads', tags: 'tag_lists' };
const operationNames = { get: 'manifest-get', head: 'manifest-head', tags: 'tags-walk' } as const;

/**
 * A soak like a busy CI: each worker picks operations at random by `--mix` weight: push a new
 * image (sharing its base layers with the others), pull a random image pushed so far, GET or
 * HEAD a random manifest, list the tags (which must hold every tag pushed before the listing
 * started).
 */
export const mixed: Scenario = {
  name: 'mixed',
  description: 'weighted random mix (--mix) of image push, image pull, manifest GET and HEAD, and tag listing, for --duration',
  defaults: { durationMs: 20_000, concurrency: 8, layers: 2, size: 16 << 10, sharedBase: 1, page: 100 },
  async run(run) {
    const { options } = run;
    const repo = run.repo('mixed');
    const kinds = (Object.keys(options.mix) as Kind[]).filter((kind) => options.mix[kind] > 0);
    const total = kinds.reduce((sum, kind) => sum + options.mix[kind], 0);
    if (total === 0) throw new RangeError('--mix: at least one weight must be above 0');
    const pick = (): Kind => {
      let left = Math.random() * total;
      for (const kind of kinds) if ((left -= options.mix[kind]) < 0) return kind;
      return kinds[kinds.length - 1]!;
    };
    const first = benchImage(run.pool, repo, 0, options);
    await run.setup('push the first image', (calls) => pushImage(calls, run, repo, first));
    // Only what a pull needs is remembered of each image: memory stays small over a long soak.
    const pushed: PushedImage[] = [pushedImage(first)];
    let nextImage = 1;
    const random = () => pushed[Math.floor(Math.random() * pushed.length)]!;
    const calls = run.startClock();
    await forBudget(new Budget({ count: options.count, durationMs: options.durationMs }), options.concurrency, async () => {
      const kind = pick();
      const start = performance.now();
      const ok = await attempt(calls, async () => {
        switch (kind) {
          case 'push': {
            const image = benchImage(run.pool, repo, nextImage++, options);
            await pushImage(calls, run, repo, image);
            pushed.push(pushedImage(image));
            return;
          }
          case 'pull':
            return await pullImage(calls, repo, random());
          case 'get': {
            const image = random();
            await calls.getManifest(repo, image.tag, image.digest);
            return;
          }
          case 'head': {
            const image = random();
            return await calls.headManifest(repo, image.tag, image);
          }
          case 'tags': {
            const want = pushed.map((image) => image.tag);
            const listing = await calls.listAll('tags-list', `/v2/${repo}/tags/list`, 'tags', options.page);
            checkNames(calls.metrics, 'tags-list', `/v2/${repo}/tags/list`, listing.names, want, false);
            return;
          }
        }
      });
      if (!ok) return;
      run.count(countNames[kind]);
      // push and pull time themselves (image-push, image-pull); the others are one op each.
      if (kind === 'get' || kind === 'head' || kind === 'tags') calls.metrics.operationDone(operationNames[kind], performance.now() - start);
    });
    run.count('tags_at_end', pushed.length);
  },
};
