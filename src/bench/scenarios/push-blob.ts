import { performance } from 'node:perf_hooks';
import { attempt } from '../bench-run.js';
import { Budget, forBudget } from '../workers.js';
import type { Scenario } from './scenario.js';

/** `--count` blobs of `--size`, uploaded in `--mode` (monolithic, chunked by `--chunk`, or one POST). */
export const pushBlob: Scenario = {
  name: 'push-blob',
  description: 'upload --count blobs of --size, --mode monolithic (POST+PUT), chunked (PATCH --chunk) or post (single POST)',
  defaults: { count: 3, concurrency: 1, size: 64 << 20 },
  async run(run) {
    const { options } = run;
    const repo = run.repo('push-blob');
    const blobs = options.count === undefined ? undefined : Array.from({ length: options.count }, (_, i) => run.pool.blob(`${repo}/blob-${i}`, options.size));
    const calls = run.startClock();
    await forBudget(new Budget({ count: options.count, durationMs: options.durationMs }), options.concurrency, async (index) => {
      const blob = blobs?.[index] ?? run.pool.blob(`${repo}/blob-${index}`, options.size);
      const start = performance.now();
      const ok = await attempt(calls, async () => {
        if (options.mode === 'chunked') await calls.uploadChunked(repo, blob, options.chunk);
        else if (options.mode === 'post') await calls.uploadInPost(repo, blob);
        else await calls.uploadMonolithic(repo, blob);
      });
      if (!ok) return;
      run.count('blobs');
      calls.metrics.operationDone('blob-push', performance.now() - start);
    });
  },
};
