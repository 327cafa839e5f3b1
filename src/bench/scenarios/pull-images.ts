import { attempt } from '../bench-run.js';
import { pullImage, pushedImage, pushImage } from '../image-transfer.js';
import { benchImage } from '../images.js';
import { Budget, forBudget, runWorkers } from '../workers.js';
import type { Scenario } from './scenario.js';

/**
 * Pushes `--count` images during setup, then pulls them: each once, or with `--duration`, random
 * ones until the time is up.
 */
export const pullImages: Scenario = {
  name: 'pull-images',
  description: 'push --count images (setup), then pull each once (or random ones for --duration): manifest, config, layers',
  defaults: { count: 100, concurrency: 8, layers: 3, size: 256 << 10, sharedBase: 0 },
  async run(run) {
    const { options } = run;
    const repo = run.repo('pull-images');
    const images = Array.from({ length: options.count ?? 100 }, (_, i) => benchImage(run.pool, repo, i, options));
    await run.setup(`push ${images.length} images`, async (calls) => {
      const queue = new Budget({ count: images.length });
      await forBudget(queue, options.concurrency, (index) => pushImage(calls, run, repo, images[index]!));
    });
    const calls = run.startClock();
    if (options.durationMs !== undefined) {
      const budget = new Budget({ durationMs: options.durationMs });
      await runWorkers(options.concurrency, async () => {
        while (budget.take() !== undefined) {
          const image = images[Math.floor(Math.random() * images.length)]!;
          if (await attempt(calls, () => pullImage(calls, repo, pushedImage(image)))) run.count('images');
        }
      });
    } else {
      await forBudget(new Budget({ count: images.length }), options.concurrency, async (index) => {
        if (await attempt(calls, () => pullImage(calls, repo, pushedImage(images[index]!)))) run.count('images');
      });
    }
  },
};
