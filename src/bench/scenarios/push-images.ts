import { attempt } from '../bench-run.js';
import { pushImage } from '../image-transfer.js';
import { benchImage } from '../images.js';
import { forBudget, Budget } from '../workers.js';
import type { Scenario } from './scenario.js';

/** `--count` images pushed by `--concurrency` workers, as docker pushes them. */
export const pushImages: Scenario = {
  name: 'push-images',
  description: 'push --count images of --layers layers of --size (the first --shared-base common to all)',
  defaults: { count: 100, concurrency: 8, layers: 3, size: 256 << 10, sharedBase: 0 },
  async run(run) {
    const { options } = run;
    const repo = run.repo('push-images');
    const count = options.count ?? Number.MAX_SAFE_INTEGER;
    // Content is made (and hashed) before the clock starts, unless the run is bounded by time
    // only: then each image is made when its turn comes, as a lazy pool cannot be sized.
    const prepared = options.count === undefined ? undefined : Array.from({ length: count }, (_, i) => benchImage(run.pool, repo, i, options));
    const calls = run.startClock();
    const budget = new Budget({ count: options.count, durationMs: options.durationMs });
    await forBudget(budget, options.concurrency, async (index) => {
      const image = prepared?.[index] ?? benchImage(run.pool, repo, index, options);
      if (await attempt(calls, () => pushImage(calls, run, repo, image))) run.count('images');
    });
  },
};
