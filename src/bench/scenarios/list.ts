import { performance } from 'node:perf_hooks';
import { mediaTypes } from '../../image/descriptor.js';
import { BenchRequestError } from '../bench-error.js';
import { attempt } from '../bench-run.js';
import { pushImage } from '../image-transfer.js';
import { benchImage } from '../images.js';
import { Budget, forBudget } from '../workers.js';
import type { Scenario } from './scenario.js';

/**
 * Setup creates `--repos` repositories (each one small image) and `--tags` tags in one of them;
 * then the whole catalog and the whole tag list are walked page by page (`?n=--page`, following
 * Link), `--count` times. Every created name must come back exactly once.
 */
export const list: Scenario = {
  name: 'list',
  description: 'create --repos repositories and --tags tags (setup), then walk _catalog and tags/list with ?n=--page, --count times',
  defaults: { count: 3, concurrency: 8, repos: 100, tags: 100, page: 100, layers: 1, size: 64, sharedBase: 0 },
  async run(run) {
    const { options } = run;
    const repos = Array.from({ length: options.repos }, (_, i) => run.repo(`list/r-${String(i).padStart(6, '0')}`));
    const tagged = run.repo('list/tags');
    const tags = Array.from({ length: options.tags }, (_, i) => `tag-${String(i).padStart(6, '0')}`);
    const image = benchImage(run.pool, run.repo('list'), 0, { layers: 1, size: 64, sharedBase: 0 });
    await run.setup(`create ${repos.length} repositories and ${tags.length} tags`, async (calls) => {
      await pushImage(calls, run, tagged, image);
      await forBudget(new Budget({ count: repos.length }), options.concurrency, (i) => pushImage(calls, run, repos[i]!, image));
      await forBudget(new Budget({ count: tags.length }), options.concurrency, (i) =>
        calls.putManifest(tagged, tags[i]!, image.manifest, mediaTypes.ociManifest),
      );
    });
    const wantRepos = [...repos, tagged];
    const wantTags = [image.tag, ...tags];
    const calls = run.startClock();
    // One walk at a time: the figure is how long a whole listing takes, not throughput.
    await forBudget(new Budget({ count: options.count ?? 3, durationMs: options.durationMs }), 1, async () => {
      await attempt(calls, async () => {
        let start = performance.now();
        const catalog = await calls.listAll('catalog', '/v2/_catalog', 'repositories', options.page);
        calls.metrics.operationDone('catalog-walk', performance.now() - start);
        run.count('catalog_pages', catalog.pages);
        run.count('catalog_entries', catalog.names.length);
        checkNames(calls.metrics, 'catalog', '/v2/_catalog', catalog.names, wantRepos, false);
        start = performance.now();
        const tagList = await calls.listAll('tags-list', `/v2/${tagged}/tags/list`, 'tags', options.page);
        calls.metrics.operationDone('tags-walk', performance.now() - start);
        run.count('tags_pages', tagList.pages);
        run.count('tags_entries', tagList.names.length);
        checkNames(calls.metrics, 'tags-list', `/v2/${tagged}/tags/list`, tagList.names, wantTags, true);
        if (tagList.pages === 1 && tagList.names.length > options.page && !run.notes.includes(ignoredN)) run.notes.push(ignoredN);
      });
    });
  },
};

const ignoredN = 'the registry ignored ?n= on tags/list (one page larger than asked)';

/**
 * Each wanted name must be listed exactly once; with `exact`, nothing else may be listed (a
 * repository's tags are all ours, the catalog may hold other repositories).
 */
export function checkNames(
  metrics: { noteError(error: Error): void },
  type: string,
  path: string,
  listed: readonly string[],
  wanted: readonly string[],
  exact: boolean,
): void {
  const seen = new Map<string, number>();
  for (const name of listed) seen.set(name, (seen.get(name) ?? 0) + 1);
  const missing = wanted.filter((name) => !seen.has(name)).length;
  const twice = [...seen.values()].filter((n) => n > 1).length;
  const extra = exact ? seen.size - wanted.filter((name) => seen.has(name)).length : 0;
  if (missing + twice + extra > 0) {
    const error = new BenchRequestError(type, 'GET', path, `listing wrong: ${missing} of ${wanted.length} names missing, ${twice} listed twice, ${extra} unexpected`, 200);
    metrics.noteError(error);
    throw error;
  }
}
