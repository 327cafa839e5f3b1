import { attempt } from '../bench-run.js';
import { pushImage } from '../image-transfer.js';
import { benchImage } from '../images.js';
import { Budget, forBudget } from '../workers.js';
import type { Scenario } from './scenario.js';

/** One small image pushed in setup, then its manifest fetched by tag (GET, or HEAD with --head). */
export const manifestGet: Scenario = {
  name: 'manifest-get',
  description: 'GET (or --head: HEAD) one manifest by tag for --duration or --count requests',
  defaults: { durationMs: 10_000, concurrency: 16, layers: 1, size: 1024, sharedBase: 0 },
  async run(run) {
    const { options } = run;
    const repo = run.repo('manifest-get');
    const image = benchImage(run.pool, repo, 0, { layers: 1, size: 1024, sharedBase: 0 });
    await run.setup('push one small image', (calls) => pushImage(calls, run, repo, image));
    const calls = run.startClock();
    const fetch = options.head
      ? () => calls.headManifest(repo, image.tag, image.manifest)
      : async () => void (await calls.getManifest(repo, image.tag, image.manifest.digest));
    await forBudget(new Budget({ count: options.count, durationMs: options.durationMs }), options.concurrency, async () => {
      await attempt(calls, fetch);
    });
  },
};
