import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basic, startAuthRegistry, type AuthRegistry } from '../helpers/auth.js';
import { ensureBuilt } from '../helpers/compiled-cli.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

/**
 * How `berth serve` serves the web UI (`ui.enabled`): the built app at `<prefix>/ui/` without
 * credentials (the app logs in through the API), `/` sending browsers there, and nothing of it
 * when the UI is off. The files themselves are src/ui/static-assets.test.ts's; this checks the
 * wiring, on the bundle in dist/ui-assets (built first when missing or older than its sources).
 */
// Building the UI (and the server, when stale) takes a while on a busy machine.
before(() => ensureBuilt(), { timeout: 180_000 });

describe('web UI serving', () => {
  let registry: TestRegistry;
  let off: TestRegistry;

  before(async () => {
    registry = await startTestRegistry({ ui: { enabled: true }, prefix: '/registry' });
    off = await startTestRegistry({ prefix: '/registry' });
  });
  after(async () => {
    await registry?.close();
    await off?.close();
  });

  test('the built app is served under the prefix: its page and every file the page names', async () => {
    const page = await fetch(`${registry.url}/registry/ui/`);
    assert.equal(page.status, 200, 'the UI is built (npm run build) and served');
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await page.text();
    const referenced = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    assert.ok(referenced.some((ref) => ref.endsWith('.js')), `the page loads a script: ${referenced.join(', ')}`);
    for (const ref of referenced) {
      assert.ok(!/^[a-z]+:|^\/\//i.test(ref), `${ref}: only relative references, so that any prefix works`);
      const asset = await fetch(new URL(ref, `${registry.url}/registry/ui/`));
      assert.equal(asset.status, 200, ref);
      assert.match(asset.headers.get('content-security-policy') ?? '', /default-src 'none'/, ref);
    }
  });

  test('/ under the prefix sends a browser to the UI and answers anything else as Distribution does', async () => {
    const browser = await fetch(`${registry.url}/registry/`, { headers: { Accept: 'text/html,application/xhtml+xml' }, redirect: 'manual' });
    assert.equal(browser.status, 302);
    assert.equal(browser.headers.get('location'), 'ui/');
    const probe = await fetch(`${registry.url}/registry/`);
    assert.equal(probe.status, 200);
    assert.equal(await probe.text(), '');
    assert.equal((await fetch(`${registry.url}/ui/`)).status, 404, 'outside the prefix there is nothing');
  });

  test('with ui.enabled false neither the files nor the UI API exist', async () => {
    for (const path of ['/registry/ui/', '/registry/ui', '/registry/berth/v1/ui/info', '/registry/berth/v1/repositories']) {
      const answer = await fetch(`${off.url}${path}`, { redirect: 'manual' });
      assert.equal(answer.status, 404, path);
      const body = (await answer.json()) as { errors: { code: string }[] };
      assert.equal(body.errors[0]?.code, 'UNSUPPORTED', path);
    }
    // Any method and any name: not there, rather than 405 from the administration route or 400.
    for (const [method, path] of [
      ['POST', '/registry/berth/v1/ui/info'],
      ['DELETE', '/registry/berth/v1/repositories/a/b/_summary'],
      ['GET', '/registry/berth/v1/repositories/Not..Valid/_tags'],
    ] as const) {
      assert.equal((await fetch(`${off.url}${path}`, { method })).status, 404, `${method} ${path}`);
    }
    const browser = await fetch(`${off.url}/registry/`, { headers: { Accept: 'text/html' }, redirect: 'manual' });
    assert.equal(browser.status, 200, 'no redirect to a UI that is off');
    assert.equal((await fetch(`${off.url}/registry/v2/`)).status, 200, 'the API is unchanged');
  });
});

describe('web UI serving with auth', () => {
  let registry: AuthRegistry;

  before(async () => {
    registry = await startAuthRegistry('htpasswd', undefined, { ui: { enabled: true } });
  });
  after(() => registry?.close());

  test('the app needs no credentials; the API behind it does', async () => {
    assert.equal((await fetch(`${registry.url}/ui/`)).status, 200);
    const info = await fetch(`${registry.url}/berth/v1/ui/info`);
    assert.equal(info.status, 401);
    assert.match(info.headers.get('www-authenticate') ?? '', /^Basic /);
    const signedIn = await fetch(`${registry.url}/berth/v1/ui/info`, { headers: basic('root') });
    assert.equal(signedIn.status, 200);
  });
});
