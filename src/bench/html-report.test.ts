import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser } from '../../test/helpers/browser.js';
import { startTestRegistry, type TestRegistry } from '../../test/helpers/registry-server.js';
import type { BenchResult } from './bench-result.js';
import { clientTransport } from './client-transport.js';
import { htmlReport } from './html-report.js';
import { runBench } from './run-bench.js';

/** Where the lead looks at one rendering of the report. */
const sharedScreenshot = '/tmp/h/bench-report.png';

describe('HTML report', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  let dir: string;
  let result: BenchResult;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-bench-report-'));
    registry = await startTestRegistry();
    const transport = clientTransport(registry.hostPort, { insecure: true, connections: 4 });
    try {
      // A mixed run long enough for a few points over time and every request type.
      result = await runBench(
        'mixed',
        {
          registry: registry.hostPort,
          prefix: 'bench/report',
          concurrency: 4,
          durationMs: 3500,
          layers: 2,
          size: 16 * 1024,
          sharedBase: 1,
          head: false,
          repos: 0,
          tags: 0,
          page: 50,
          mode: 'monolithic',
          chunk: 1 << 20,
          mix: { push: 1, pull: 3, get: 3, head: 2, tags: 1 },
        },
        transport,
      );
    } finally {
      await transport.close();
    }
    assert.equal(result.valid, true, result.errors.first.join('\n'));
  });

  after(async () => {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is one self-contained file: no script, no external resource', () => {
    const html = htmlReport(result);
    assert.doesNotMatch(html, /<script|<link|<img|@import|url\(/i);
    assert.doesNotMatch(html, /(src|href)=/i);
    assert.match(html, /<svg data-chart="throughput"/);
    assert.match(html, /<svg data-chart="errors"/);
  });

  it('shows the errors of an invalid run', () => {
    const invalid: BenchResult = { ...result, valid: false, errors: { count: 7, first: ['GET /v2/x/manifests/y: 500 expected 200 <b>'] } };
    const html = htmlReport(invalid);
    assert.match(html, /INVALID/);
    assert.match(html, /Errors \(7\)/);
    assert.match(html, /500 expected 200 &#60;b&#62;/, 'messages are escaped');
    assert.match(html, /6 more not shown/);
  });

  it('renders a run whose setup failed (no figures) without breaking', async () => {
    const transport = clientTransport('127.0.0.1:1', { insecure: true });
    try {
      const failed = await runBench('pull-images', { ...result.params, registry: '127.0.0.1:1', count: 2, durationMs: undefined }, transport);
      const html = htmlReport(failed);
      assert.match(html, /setup \(push 2 images\) failed/);
      assert.match(html, /<svg data-chart="throughput"[^>]*><text[^>]*>no data<\/text><\/svg>/);
    } finally {
      await transport.close();
    }
  });

  it('renders in headless Chromium with drawn charts, and a screenshot', async () => {
    const file = join(dir, 'report.html');
    await writeFile(file, htmlReport(result));
    const browser = await launchBrowser({ viewport: { width: 1400, height: 900 } });
    try {
      const page = await browser.newPage();
      await page.goto(`file://${file}`);
      assert.deepEqual(browser.requests.filter((url) => !url.startsWith('file://')), [], 'the page fetches nothing');

      // Throughput over time: a line with one point per full second.
      const line = await page.locator('svg[data-chart="throughput"] path.data').getAttribute('d');
      assert.ok(line && (line.match(/L/g) ?? []).length >= 1, `throughput line: ${line}`);
      const throughputBox = await page.locator('svg[data-chart="throughput"]').boundingBox();
      assert.ok(throughputBox && throughputBox.width > 300 && throughputBox.height > 80, 'the chart is laid out at a readable size');
      assert.equal(await page.locator('svg[data-chart="errors"]').count(), 1);

      // One latency histogram per request type, each with bars of nonzero height.
      const types = Object.keys(result.requests);
      assert.ok(types.length >= 6, `request types: ${types.join(', ')}`);
      assert.equal(await page.locator('svg[data-chart="histogram"]').count(), types.length);
      const heights = await page.$$eval('svg[data-chart="histogram"]', (charts) =>
        charts.map((chart) => [...chart.querySelectorAll('rect.data')].reduce((sum, bar) => sum + Number(bar.getAttribute('height')), 0)),
      );
      for (const [i, height] of heights.entries()) assert.ok(height > 0, `histogram ${types[i]} has drawn bars`);

      // The summary table lists every request type.
      for (const type of types) assert.equal(await page.locator('table.stats th[scope=row]', { hasText: type }).count() >= 1, true, type);

      const screenshot = join(dir, 'report.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      const png = await readFile(screenshot);
      assert.ok(png.length > 10_000, 'the screenshot is not blank');
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
      await mkdir('/tmp/h', { recursive: true });
      await copyFile(screenshot, sharedScreenshot);
      assert.ok((await stat(sharedScreenshot)).size > 0);
    } finally {
      await browser.close();
    }
  });
});
