// End to end through a real browser: the web UI of `berth serve` (compiled dist/, UI bundle in
// dist/ui-assets) in headless Chromium, after real pushes with skopeo.
// - Berth with htpasswd auth and access rules: `admin` may do anything, `viewer` may only pull
//   `shop/*`. skopeo pushes an SBOM artifact (by digest, then tagged sbom) whose subject is the
//   single image, the single image (tags v1, v2), a two-platform index, and `other/secret`,
//   which viewer may not see.
// - As admin, through the login form: the repository list with tag counts, last pushes and
//   search; the repository page with exact sizes and storage use (computed here from the OCI
//   layouts), types, platforms, times and pull commands; the image page with config, history,
//   layers, manifest links and referrers; an index's platforms, each linked to its image;
//   deleting a tag through the confirmation dialog (cancel first).
// - As viewer: only `shop/*`, no delete buttons, a readable error for a wrong password.
// - Keyboard use, a phone and a wide viewport (screenshots, no page-level horizontal overflow),
//   no request to any other origin and no console errors.
// - A Berth under `http.prefix: /registry/` without auth, and one with the token server.
// Screenshots of every page go to test-artifacts/ui/ (or $BERTH_TEST_ARTIFACTS/ui/) for review.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import type { Page } from 'playwright-core';
import { artifactsDir, launchBrowser, saveScreenshot, type TestBrowser } from '../helpers/browser.js';
import { ensureBuilt } from '../helpers/compiled-cli.js';
import { pushBlob, pushImage, putManifest } from '../helpers/push.js';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { buildTestImages, helloText, type TestImages } from './support/images.js';
import { readLayoutBlob, readLayoutManifest, sha256, writeArtifactLayout, type Manifest } from './support/oci.js';
import { registryConfig } from './support/registries.js';
import { Diagnostics, type RunOptions } from './support/run.js';

const diag = new Diagnostics();
const testTimeout = { timeout: 60_000 };
const passwords = { admin: 'admin-e2e-pw', viewer: 'viewer-e2e-pw' } as const;
type User = keyof typeof passwords;
const sbomType = 'application/spdx+json';
const screenshots = 'ui';
/** Repositories beyond one page of the list (the app shows 50 a page; the API's default). */
const bulkRepositories = 60;
/** How long the UI may take to show what a step expects. */
const uiWaitMs = 15_000;

interface Berth {
  readonly url: string;
  readonly hostPort: string;
  stop(): Promise<void>;
}

let work: string;
let images: TestImages;
let berth: Berth;
let browser: TestBrowser;
let artifact: Manifest;
/** Exact total compressed sizes, from the layouts skopeo pushed. */
const sizes = { single: 0, multi: 0, artifact: 0 };
/** The single image's config (from its layout): what the image page must show as created and history. */
let singleConfig: ImageConfig;
/** The index's created time as the UI must give it: its newest child's config `created`. */
let multiCreated: string;
/** An artifact has no image config: its `org.opencontainers.image.created` annotation dates it. */
const artifactCreated = () =>
  isoTime((JSON.parse(artifact.bytes.toString('utf8')) as { annotations?: Record<string, string> }).annotations?.['org.opencontainers.image.created']);
/** When the pushes to the htpasswd Berth began and ended (ms): every push time shown lies in between. */
const pushWindow = { from: 0, to: 0 };
/**
 * File times come from the kernel's coarse clock, which may lag Date.now() by a tick (a few ms):
 * a push time may read that much before the window opened.
 */
const clockSlackMs = 20;

interface ImageConfig {
  readonly created?: string;
  readonly history?: ReadonlyArray<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>;
}

const sh = (file: string, args: string[], options?: RunOptions) => diag.run(file, args, options);
const basic = (user: User) => `Basic ${Buffer.from(`${user}:${passwords[user]}`).toString('base64')}`;

/** What the UI must show as an image's size: manifest bytes + config + layers. */
function imageSize(manifestBytes: number, json: Manifest['json']): number {
  const { config, layers = [] } = json;
  return manifestBytes + (config?.size ?? 0) + layers.reduce((sum, layer) => sum + layer.size, 0);
}

/** An index's size: its own bytes + each child image's size (children read from the layout). */
async function indexSize(layoutDir: string, index: Manifest): Promise<number> {
  let total = index.bytes.length;
  for (const child of index.json.manifests ?? []) {
    const bytes = await readLayoutBlob(layoutDir, child.digest);
    total += imageSize(bytes.length, JSON.parse(bytes.toString('utf8')) as Manifest['json']);
  }
  return total;
}

/** The config of an image manifest in a layout, parsed. */
async function layoutConfig(layoutDir: string, manifest: Manifest['json']): Promise<ImageConfig> {
  return JSON.parse((await readLayoutBlob(layoutDir, manifest.config!.digest)).toString('utf8')) as ImageConfig;
}

/**
 * A time in one form to compare: ISO with milliseconds. The API gives that form; the page may
 * show a config's own (nanosecond) text, which names the same instant. Throws for no time.
 */
const isoTime = (time: string | null | undefined): string => new Date(time ?? NaN).toISOString();

/** Asserts that a `datetime` the UI shows lies within the test's own pushes. */
function assertPushedInWindow(datetime: string | null | undefined, what: string): void {
  assert.ok(datetime, `${what}: a push time is shown`);
  const time = Date.parse(datetime);
  const window = `${new Date(pushWindow.from).toISOString()} … ${new Date(pushWindow.to).toISOString()}`;
  assert.ok(time >= pushWindow.from - clockSlackMs && time <= pushWindow.to, `${what}: ${datetime} is outside the pushes (${window})`);
}

/**
 * Starts `bin/berth.js serve` on a free port with the test config plus `extra` lines (which may
 * need the port, e.g. a token realm); `edit` rewrites the base config (e.g. to add http.prefix).
 */
async function serveBerth(
  label: string,
  extra: (port: number) => string[],
  options: { readyPath?: string; edit?: (config: string) => string } = {},
): Promise<Berth> {
  const dir = join(work, label);
  await mkdir(dir, { recursive: true });
  const spawned = await spawnOnFreePort(dir, (port) => {
    const base = registryConfig(join(dir, 'storage'), port);
    return [options.edit ? options.edit(base) : base, ...extra(port), ''].join('\n');
  }, options.readyPath);
  const log = { name: `berth ${label} (${spawned.hostPort})`, text: spawned.output };
  diag.watch(log);
  return {
    url: spawned.url,
    hostPort: spawned.hostPort,
    stop: async () => {
      diag.unwatch(log);
      await spawned.stop();
    },
  };
}

/**
 * Spawns Berth with the config for a free port. That port may be taken by another process before
 * Berth binds it: then another one is tried (as startRegistry in support/registries.ts does; it
 * cannot take a prefix or config lines that name the port).
 */
async function spawnOnFreePort(dir: string, config: (port: number) => string, readyPath?: string): Promise<SpawnedRegistry> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await spawnRegistry('berth', config(port), dir, port, {}, undefined, [], readyPath);
    } catch (error) {
      if (attempt >= 3 || !/address already in use/i.test(String(error))) throw error;
    }
  }
}

/** The users of both authenticating Berths (bcrypt, low cost: only tests read it). */
const htpasswdFile = () => join(work, 'users.htpasswd');

async function writeHtpasswd(): Promise<void> {
  const lines = Object.entries(passwords).map(([user, password]) => `${user}:${bcrypt.hashSync(password, 5)}`);
  await writeFile(htpasswdFile(), `${lines.join('\n')}\n`);
}

const accessRules = [
  'access:',
  '  admins: [admin]',
  '  rules:',
  "    - repository: 'shop/*'",
  '      users:',
  '        viewer: [pull]',
];

/** skopeo copy into a Berth as admin. */
async function skopeoPush(target: Berth, source: string, reference: string, options: { all?: boolean } = {}) {
  await sh('skopeo', [
    'copy',
    '-q',
    ...(options.all ? ['--all'] : []),
    '--dest-tls-verify=false',
    '--dest-creds',
    `admin:${passwords.admin}`,
    source,
    `docker://${target.hostPort}/${reference}`,
  ]);
}

/** Retries `check` until it stops throwing, then returns its result; throws its last error at the deadline. */
async function eventually<T>(check: () => Promise<T>, timeoutMs = uiWaitMs): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function newTab(from: TestBrowser = browser): Promise<Page> {
  const page = await from.newPage();
  page.setDefaultTimeout(uiWaitMs);
  return page;
}

/** Opens the UI in the tab and logs in through the form. */
async function logIn(page: Page, target: Berth, user: User, password: string = passwords[user]): Promise<void> {
  await page.goto(`${target.url}/ui/`);
  const form = page.locator('form[data-form=login]');
  await form.locator('input[name=username]').fill(user);
  await form.locator('input[name=password]').fill(password);
  await form.locator('button[type=submit]').click();
}

async function logInAs(user: User): Promise<Page> {
  const page = await newTab();
  await logIn(page, berth, user);
  await page.locator('[data-field=user]', { hasText: user }).waitFor();
  await page.locator('tr[data-repository]').first().waitFor();
  return page;
}

/**
 * Navigates within the app (hash route) and waits for the new page's `h1`: exactly `title`, or
 * containing it with `{ contains: true }` (the image page's heading holds the short digest).
 */
async function go(page: Page, hash: string, title: string, options: { contains?: boolean } = {}): Promise<void> {
  await page.evaluate((to) => (location.hash = to), hash);
  await page.waitForFunction(
    ([expected, contains]) => {
      const text = document.querySelector('h1')?.textContent?.trim() ?? '';
      return contains ? text.includes(expected) : text === expected;
    },
    [title, options.contains === true] as const,
  );
}

const shortHex = (digest: string) => digest.split(':')[1]!.slice(0, 12);

interface Row {
  readonly key: string;
  readonly text: Record<string, string>;
  /** `data-bytes` of the row, or else of the first element in it that has one, by field. */
  readonly bytes: Record<string, string | null>;
  /** The `datetime` of the `time` element in each field (the exact time behind "3 minutes ago"), by field. */
  readonly times: Record<string, string | null>;
  readonly digest: string | null;
}

/** The rows of `table[data-table=name]` keyed by their `data-<key>` attribute, with each field's text. */
async function tableRows(page: Page, table: string, key: string): Promise<Row[]> {
  return await page.$$eval(
    `table[data-table=${table}] tr[data-${key}]`,
    (rows, attribute) =>
      rows.map((row) => {
        const text: Record<string, string> = {};
        const bytes: Record<string, string | null> = { row: row.getAttribute('data-bytes') };
        const times: Record<string, string | null> = {};
        for (const cell of row.querySelectorAll('[data-field]')) {
          const field = cell.getAttribute('data-field')!;
          text[field] = (cell.textContent ?? '').replace(/\s+/g, ' ').trim();
          bytes[field] = cell.getAttribute('data-bytes') ?? cell.querySelector('[data-bytes]')?.getAttribute('data-bytes') ?? null;
          times[field] = cell.querySelector('time')?.getAttribute('datetime') ?? null;
        }
        const digestCell = row.querySelector('[data-field=digest]');
        const digest = digestCell?.getAttribute('data-digest') ?? digestCell?.querySelector('[data-digest]')?.getAttribute('data-digest') ?? null;
        return { key: row.getAttribute(`data-${attribute}`)!, text, bytes, times, digest };
      }),
    key,
  );
}

async function repositoryNames(page: Page): Promise<string[]> {
  return (await tableRows(page, 'repositories', 'repository')).map((row) => row.key);
}

/**
 * Waits until the page has drawn everything it loads: nothing in `main` is marked busy
 * (`aria-busy`, e.g. storage use, referrers) or still shows a loading placeholder.
 */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => !document.querySelector('main[aria-busy=true], main [aria-busy=true], main .loading'));
}

/** Every link in the manifest JSON view: its text (a digest), where it points (absolute), and whether it downloads. */
async function manifestLinks(page: Page): Promise<Array<{ text: string; href: string; download: boolean }>> {
  return await page.$$eval('pre[data-field=manifest] a', (links) =>
    links.map((link) => ({ text: link.textContent ?? '', href: (link as HTMLAnchorElement).href, download: link.hasAttribute('download') })),
  );
}

/** The exact time (`datetime`) of the image page's "Created" fact. */
async function createdFact(page: Page): Promise<string | null> {
  return await page.evaluate(() => {
    const term = [...document.querySelectorAll('main dt')].find((dt) => dt.textContent?.trim() === 'Created');
    return term?.nextElementSibling?.querySelector('time')?.getAttribute('datetime') ?? null;
  });
}

/**
 * Page-level horizontal overflow (content wider than the viewport makes the whole page scroll
 * sideways): a description of it, or undefined when the page fits.
 */
async function horizontalOverflow(page: Page, what: string): Promise<string | undefined> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  return scrollWidth <= innerWidth ? undefined : `${what}: the page is ${scrollWidth} px wide in a ${innerWidth} px viewport`;
}

/** Every request went to `origin + path` (data: and blob: URLs of that origin are the page's own). */
function assertOwnOrigin(requests: readonly string[], base: string): void {
  const origin = new URL(base).origin;
  const foreign = requests.filter((url) => !(url.startsWith(base) || url.startsWith('data:') || url.startsWith(`blob:${origin}/`)));
  assert.deepEqual(foreign, [], `requests outside ${base}`);
}

/**
 * Console errors, less Chromium's own reports ("Failed to load resource: the server responded
 * with a status of 401 (Unauthorized) (at URL)") of the error answers the app gets on purpose:
 * - 401 from `<base>v2/`: the app asks it without credentials to learn the auth scheme, and a
 *   wrong password sent there is answered 401;
 * - with the token server (`bearer`): 401 from `<base>auth/token` to a wrong password, and a
 *   Bearer challenge to a request that the app then repeats with a token and gets answered (a
 *   later 2xx for the same URL);
 * - 403 when viewer opens other/secret, through the UI API.
 */
function unexpectedConsoleErrors(from: TestBrowser, base: string, options: { bearer?: boolean } = {}): string[] {
  const answeredLater = (url: string) => {
    let refused = -1;
    let answered = -1;
    from.responses.forEach((response, i) => {
      if (response.url !== url) return;
      if (response.status === 401) refused = i;
      else if (response.status >= 200 && response.status < 300) answered = i;
    });
    return answered > refused;
  };
  const provoked = (text: string) => {
    const match = /^Failed to load resource: the server responded with a status of (\d{3})\b.*\(at (\S+)\)$/s.exec(text);
    if (!match) return false;
    const [, status, url = ''] = match;
    if (status === '403') return url.startsWith(`${base}berth/v1/repositories/other/secret/`);
    if (status !== '401') return false;
    return url === `${base}v2/` || (options.bearer === true && (url.startsWith(`${base}auth/token?`) || answeredLater(url)));
  };
  return from.consoleErrors.filter((text) => !provoked(text));
}

before(
  async () => {
    await ensureBuilt();
    // Only this run's screenshots: none of an earlier run's left to mislead a reviewer.
    await rm(artifactsDir(screenshots), { recursive: true, force: true });
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-ui-'));
    images = await buildTestImages(join(work, 'images'));
    await writeHtpasswd();
    berth = await serveBerth('htpasswd', () => ['auth:', '  htpasswd:', '    realm: berth-e2e', `    path: ${htpasswdFile()}`, ...accessRules]);

    const subject = images.single.manifest;
    artifact = await writeArtifactLayout(join(work, 'artifact'), {
      refName: 'sbom',
      artifactType: sbomType,
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
      content: '{"spdxVersion":"SPDX-2.3"}',
    });
    pushWindow.from = Date.now();
    await skopeoPush(berth, images.single.layout, 'shop/single:v1');
    // By digest, no tag, as `oras attach` pushes it; then tagged too, so the tag table shows an
    // artifact. v2 comes last: the newest push is the tag the pull commands name.
    await skopeoPush(berth, `oci:${join(work, 'artifact')}:sbom`, `shop/single@${artifact.digest}`);
    await skopeoPush(berth, `oci:${join(work, 'artifact')}:sbom`, 'shop/single:sbom');
    await skopeoPush(berth, images.single.layout, 'shop/single:v2');
    await skopeoPush(berth, images.multi.layout, 'shop/multi:list', { all: true });
    await skopeoPush(berth, images.single.layout, 'other/secret:v1');
    pushWindow.to = Date.now();

    sizes.single = imageSize(images.single.manifest.bytes.length, images.single.manifest.json);
    sizes.multi = await indexSize(images.multi.layoutDir, images.multi.index);
    sizes.artifact = imageSize(artifact.bytes.length, artifact.json);
    singleConfig = await layoutConfig(images.single.layoutDir, images.single.manifest.json);
    const childTimes = await Promise.all(
      Object.values(images.multi.children).map(async (child) => {
        const manifest = JSON.parse((await readLayoutBlob(images.multi.layoutDir, child.digest)).toString('utf8')) as Manifest['json'];
        return isoTime((await layoutConfig(images.multi.layoutDir, manifest)).created);
      }),
    );
    multiCreated = childTimes.sort().at(-1)!;
    browser = await launchBrowser();
  },
  { timeout: 120_000 },
);

after(
  async () => {
    await browser?.close();
    await berth?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

describe('web UI with htpasswd auth', () => {
  // The tests below run in order and walk through one session: the admin tab opened by the list
  // test is used by the next ones, and the deletes change what later tests see.
  let admin: Page;

  it(
    'shows the login form and refuses a wrong password with a readable error',
    testTimeout,
    diag.explained(async () => {
      const page = await newTab();
      await page.goto(`${berth.url}/ui/`);
      await page.locator('form[data-form=login]').waitFor();
      await saveScreenshot(page, screenshots, 'login');
      await logIn(page, berth, 'viewer', 'not-the-password');
      await page.locator('[role=alert]', { hasText: /wrong user name or password/i }).waitFor();
      await saveScreenshot(page, screenshots, 'login-error');
      assert.equal(await page.locator('[data-field=user]').count(), 0, 'not logged in');
      await page.close();
    }),
  );

  it(
    'lists the repositories with their tag counts, and search filters them',
    testTimeout,
    diag.explained(async () => {
      admin = await logInAs('admin');
      const rows = await eventually(async () => {
        const found = await tableRows(admin, 'repositories', 'repository');
        assert.deepEqual(
          found.map((row) => row.key),
          ['other/secret', 'shop/multi', 'shop/single'],
        );
        return found;
      });
      const tagCounts = Object.fromEntries(rows.map((row) => [row.key, Number.parseInt(row.text.tags ?? '', 10)]));
      assert.deepEqual(tagCounts, { 'other/secret': 1, 'shop/multi': 1, 'shop/single': 3 });
      for (const row of rows) assertPushedInWindow(row.times['last-push'], `${row.key}: last push`);
      assert.match(await admin.locator('[data-field=total]').innerText(), /\b3\b/);
      assert.equal(await admin.getByRole('searchbox', { name: /search repositories/i }).count(), 1, 'the search box is labelled');
      await saveScreenshot(admin, screenshots, 'list');

      await admin.locator('input[type=search][name=q]').fill('MULTI');
      await eventually(async () => assert.deepEqual(await repositoryNames(admin), ['shop/multi']));
      assert.equal(await admin.evaluate(() => location.hash), '#/?q=MULTI', 'the search is kept in the address');
      await admin.locator('input[type=search][name=q]').fill('shop/');
      await eventually(async () => assert.deepEqual(await repositoryNames(admin), ['shop/multi', 'shop/single']));
      assert.match(await admin.locator('[data-field=total]').innerText(), /\b2\b/);
      await admin.locator('input[type=search][name=q]').fill('');
      await eventually(async () => assert.equal((await repositoryNames(admin)).length, 3));
    }),
  );

  it(
    'shows a repository: exact sizes, types, platforms, usage and pull commands',
    testTimeout,
    diag.explained(async () => {
      await go(admin, '#/repo/shop/single', 'shop/single');
      const rows = await eventually(async () => {
        const found = await tableRows(admin, 'tags', 'tag');
        assert.deepEqual(
          found.map((row) => row.key),
          ['sbom', 'v1', 'v2'],
        );
        return found;
      });
      for (const row of rows.filter((tag) => tag.key !== 'sbom')) {
        assert.equal(row.digest, images.single.manifest.digest, `${row.key}: digest`);
        assert.ok(row.text.digest?.includes(shortHex(images.single.manifest.digest)), `${row.key}: short digest shown: ${row.text.digest}`);
        assert.equal(Number(row.bytes.size), sizes.single, `${row.key}: size in bytes`);
        assert.match(row.text.size ?? '', /^[\d.]+ (B|kB|MB|GB)$/, `${row.key}: size for people`);
        assert.match(row.text.type ?? '', /image/i, `${row.key}: type`);
        assert.equal(row.text.platforms, 'linux/amd64', `${row.key}: platforms`);
        assert.equal(isoTime(row.times.created), isoTime(singleConfig.created), `${row.key}: created, from the image config`);
        assertPushedInWindow(row.times.pushed, `${row.key}: pushed`);
      }
      // The tagged artifact: labelled by its artifact type, sized manifest + config + layer.
      const sbom = rows.find((row) => row.key === 'sbom')!;
      assert.equal(sbom.digest, artifact.digest);
      assert.equal(Number(sbom.bytes.size), sizes.artifact, 'sbom: size in bytes');
      assert.match(sbom.text.type ?? '', /SBOM \(SPDX\)/, `sbom: type: ${sbom.text.type}`);
      assert.equal(isoTime(sbom.times.created), artifactCreated(), 'sbom: created, from its annotation');
      assertPushedInWindow(sbom.times.pushed, 'sbom: pushed');
      assert.equal(await admin.locator('tr[data-tag] button[data-action=delete-tag]').count(), 3, 'admin may delete each tag');
      const shownTags = async () => (await tableRows(admin, 'tags', 'tag')).map((row) => row.key);
      await admin.locator('input[type=search][name=tag-filter]').fill('2');
      await eventually(async () => assert.deepEqual(await shownTags(), ['v2']));
      await admin.locator('input[type=search][name=tag-filter]').fill('');
      await admin.locator('button[data-sort=tag]').click();
      await eventually(async () => assert.deepEqual(await shownTags(), ['v2', 'v1', 'sbom'], 'sorted by tag, descending'));
      await admin.locator('button[data-sort=tag]').click();
      await eventually(async () => assert.deepEqual(await shownTags(), ['sbom', 'v1', 'v2']));

      // Storage: every blob the repository links, once: the image's manifest (v1 and v2 share
      // it), config and layers, and the artifact's manifest, config and layer.
      await settled(admin);
      assert.equal(Number(await admin.locator('[data-field=usage]').getAttribute('data-bytes')), sizes.single + sizes.artifact, 'usage in bytes');

      // No `latest` tag: the commands name the newest push, v2.
      const hostPort = berth.hostPort.replaceAll('.', '\\.');
      assert.match((await admin.locator('code[data-field=pull-docker]').innerText()).trim(), new RegExp(`^docker pull ${hostPort}/shop/single:v2$`));
      assert.match((await admin.locator('code[data-field=pull-podman]').innerText()).trim(), new RegExp(`^podman pull ${hostPort}/shop/single:v2$`));
      assert.ok((await admin.locator('button[data-action=copy]').count()) >= 2, 'copy buttons');
      await saveScreenshot(admin, screenshots, 'repository');

      await go(admin, '#/repo/shop/multi', 'shop/multi');
      const [list] = await eventually(async () => {
        const found = await tableRows(admin, 'tags', 'tag');
        assert.deepEqual(
          found.map((row) => row.key),
          ['list'],
        );
        return found;
      });
      assert.equal(list!.digest, images.multi.index.digest);
      assert.equal(Number(list!.bytes.size), sizes.multi, 'index size: index + both images');
      assert.match(list!.text.type ?? '', /index/i);
      assert.equal(list!.text.platforms, 'linux/amd64, linux/arm64');
      assert.equal(isoTime(list!.times.created), multiCreated, "an index's created: its newest image's");
      await saveScreenshot(admin, screenshots, 'repository-index');
    }),
  );

  it(
    'shows an image: config, layers, manifest links and its referrers',
    testTimeout,
    diag.explained(async () => {
      await go(admin, '#/repo/shop/single', 'shop/single');
      await admin.locator('tr[data-tag=v1] a[href*="#/image/"]').first().click();
      const digest = images.single.manifest.digest;
      await admin.locator('h1', { hasText: shortHex(digest) }).waitFor();
      assert.match(await admin.locator('[data-field=tags]').first().innerText(), /\bv1\b[\s\S]*\bv2\b/);
      assert.match(await admin.locator('[data-section=config] [data-field=cmd]').innerText(), new RegExp(`echo ${helloText}`));
      assert.equal(Number(await admin.locator('[data-field=total-size]').getAttribute('data-bytes')), sizes.single);
      assert.equal(isoTime(await createdFact(admin)), isoTime(singleConfig.created), 'created, from the config');

      // The build history: one row per entry of the config's history, in order, with its time and step.
      const history = await admin.$$eval('[data-section=history] tbody tr', (rows) =>
        rows.map((row) => ({ time: row.querySelector('time')?.getAttribute('datetime') ?? null, text: (row.textContent ?? '').replace(/\s+/g, ' ') })),
      );
      const entries = singleConfig.history ?? [];
      assert.ok(entries.length > 0, 'buildah records a history');
      assert.equal(history.length, entries.length, 'one row per history entry');
      entries.forEach((entry, i) => {
        assert.equal(isoTime(history[i]!.time), isoTime(entry.created), `history ${i}: time`);
        // The step as shown: created_by without the `/bin/sh -c #(nop)` of metadata steps.
        const step = ((entry.created_by ?? '').replace(/^\/bin\/sh -c #\(nop\)\s+/, '') || entry.comment || '').replace(/\s+/g, ' ').trim();
        assert.ok(history[i]!.text.includes(step), `history ${i}: ${step} in ${history[i]!.text}`);
      });

      const layers = await tableRows(admin, 'layers', 'layer');
      const expectedLayers = images.single.manifest.json.layers!;
      assert.deepEqual(
        layers.map((row) => [row.key, Number(row.bytes.row ?? Object.values(row.bytes).find((value) => value !== null))]),
        expectedLayers.map((layer) => [layer.digest, layer.size]),
      );

      // Each blob digest in the manifest JSON downloads that blob from this repository.
      const blobLink = (digest: string) => ({ text: digest, href: `${berth.url}/v2/shop/single/blobs/${digest}`, download: true });
      const { config } = images.single.manifest.json;
      assert.deepEqual(await manifestLinks(admin), [config!.digest, ...expectedLayers.map((layer) => layer.digest)].map(blobLink));
      await settled(admin);
      await saveScreenshot(admin, screenshots, 'image');

      // A layer downloads with the logged-in user's credentials (fetched, then saved from an object URL).
      const layer = expectedLayers[0]!;
      const [download] = await Promise.all([
        admin.waitForEvent('download'),
        admin.locator(`table[data-table=layers] tr[data-layer="${layer.digest}"] a`).first().click(),
      ]);
      const saved = join(work, 'downloaded-layer');
      await download.saveAs(saved);
      assert.equal(sha256(await readFile(saved)), layer.digest, 'the downloaded layer');

      const referrer = admin.locator(`[data-section=referrers] table[data-table=referrers] tr[data-referrer="${artifact.digest}"]`);
      await referrer.waitFor();
      const label = await referrer.locator('td[data-field=artifact-type]').innerText();
      assert.match(label, /SBOM \(SPDX\)/);
      assert.ok(label.includes(sbomType), `raw type shown: ${label}`);
      await saveScreenshot(admin.locator('[data-section=referrers]'), screenshots, 'referrers');
      assert.equal(await admin.locator('button[data-action=delete-manifest]').count(), 1, 'admin may delete the manifest');

      // The referrer's own page: an artifact, labelled with its type, pointing back at its subject.
      await referrer.locator('a').first().click();
      await admin.locator('h1', { hasText: shortHex(artifact.digest) }).waitFor();
      await admin.locator('main', { hasText: sbomType }).waitFor();
      await admin.locator('main', { hasText: 'SBOM (SPDX)' }).waitFor();
      assert.equal((await admin.locator('[data-field=tags]').first().innerText()).trim(), 'sbom');
      assert.equal(Number(await admin.locator('[data-field=total-size]').getAttribute('data-bytes')), sizes.artifact, 'artifact: manifest + config + layer');
      assert.equal(isoTime(await createdFact(admin)), artifactCreated(), 'artifact: created, from its annotation');
      const subjectHash = `#/image/shop/single@${digest}`;
      assert.ok((await admin.locator(`main a[href="${subjectHash}"]`).count()) >= 1, 'the artifact links its subject');
      // In its manifest JSON the config and the layer download; the subject opens the image's page.
      assert.deepEqual(await manifestLinks(admin), [
        blobLink(artifact.json.config!.digest),
        blobLink(artifact.json.layers![0]!.digest),
        { text: digest, href: `${berth.url}/ui/${subjectHash}`, download: false },
      ]);
      await settled(admin);
      await saveScreenshot(admin, screenshots, 'artifact');
    }),
  );

  it(
    'shows an index: each platform links to its image',
    testTimeout,
    diag.explained(async () => {
      const { index, children } = images.multi;
      await go(admin, `#/image/shop/multi@${index.digest}`, shortHex(index.digest), { contains: true });
      await admin.locator('table[data-table=platforms] tr[data-platform]').first().waitFor();
      const platforms = await tableRows(admin, 'platforms', 'platform');
      assert.deepEqual(
        platforms.map((row) => row.key),
        ['linux/amd64', 'linux/arm64'],
      );
      assert.equal(Number(await admin.locator('[data-field=total-size]').getAttribute('data-bytes')), sizes.multi);
      assert.equal(await admin.locator('table[data-table=layers] tr[data-layer]').count(), 0, 'an index has no layers');
      // In the index's JSON each child manifest opens its own image page.
      assert.deepEqual(
        await manifestLinks(admin),
        (index.json.manifests ?? []).map((child) => ({ text: child.digest, href: `${berth.url}/ui/#/image/shop/multi@${child.digest}`, download: false })),
      );
      await settled(admin);
      await saveScreenshot(admin, screenshots, 'index');

      await admin.locator('table[data-table=platforms] tr[data-platform="linux/arm64"] a').first().click();
      await admin.locator('h1', { hasText: shortHex(children.arm64.digest) }).waitFor();
      assert.match(await admin.locator('[data-section=config] [data-field=cmd]').innerText(), /cat \/arch\.txt/);
      await settled(admin);
      await saveScreenshot(admin, screenshots, 'image-arm64');
    }),
  );

  it(
    'deletes a tag only after confirmation, and the image still pulls by its other tag',
    testTimeout,
    diag.explained(async () => {
      await go(admin, '#/repo/shop/single', 'shop/single');
      const dialog = admin.locator('dialog[data-dialog=confirm]');
      await admin.locator('tr[data-tag=v2] button[data-action=delete-tag]').click();
      await dialog.waitFor({ state: 'visible' });
      const question = await dialog.innerText();
      assert.match(question, /shop\/single/, question);
      assert.match(question, /\bv2\b/, question);
      await saveScreenshot(admin, screenshots, 'dialog');
      await dialog.locator('button[data-action=cancel]').click();
      await dialog.waitFor({ state: 'hidden' });
      await admin.locator('tr[data-tag=v2] button[data-action=delete-tag]').click();
      await dialog.waitFor({ state: 'visible' });
      await admin.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await admin.locator('tr[data-tag=v2]').count(), 1, 'cancelled: the tag is still listed');
      const tagsList = async () => {
        const response = await fetch(`${berth.url}/v2/shop/single/tags/list`, { headers: { Authorization: basic('admin') } });
        assert.equal(response.status, 200);
        return ((await response.json()) as { tags: string[] }).tags.sort();
      };
      assert.deepEqual(await tagsList(), ['sbom', 'v1', 'v2'], 'cancelled: nothing deleted');

      await admin.locator('tr[data-tag=v2] button[data-action=delete-tag]').click();
      await dialog.waitFor({ state: 'visible' });
      await dialog.locator('button[data-action=confirm]').click();
      // The page reloads its data: v2 is gone.
      await eventually(async () =>
        assert.deepEqual(
          (await tableRows(admin, 'tags', 'tag')).map((row) => row.key),
          ['sbom', 'v1'],
        ),
      );
      assert.deepEqual(await tagsList(), ['sbom', 'v1']);
      await saveScreenshot(admin, screenshots, 'repository-after-delete');

      const pulled = join(work, 'pulled');
      await sh('skopeo', ['copy', '-q', '--src-tls-verify=false', '--src-creds', `viewer:${passwords.viewer}`, `docker://${berth.hostPort}/shop/single:v1`, `oci:${pulled}:v1`]);
      assert.equal((await readLayoutManifest(pulled, 'v1')).digest, images.single.manifest.digest);
    }),
  );

  it(
    'is usable from the keyboard: / focuses the search, Tab reaches a repository, Enter opens it',
    testTimeout,
    diag.explained(async () => {
      await go(admin, '#/', 'Repositories');
      await admin.locator('tr[data-repository]').first().waitFor();
      await admin.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await admin.keyboard.press('/');
      assert.equal(await admin.evaluate(() => document.activeElement?.matches('input[type=search][name=q]')), true, '/ focuses the search box');
      assert.equal(await admin.locator('input[type=search][name=q]').inputValue(), '', 'the / is not typed into it');
      let reached: string | undefined;
      for (let presses = 0; presses < 40 && !reached; presses++) {
        await admin.keyboard.press('Tab');
        reached = await admin.evaluate(() => {
          const focused = document.activeElement;
          return focused?.tagName === 'A' ? (focused.closest('tr[data-repository]')?.getAttribute('data-repository') ?? undefined) : undefined;
        });
      }
      assert.ok(reached, 'Tab reaches a repository link');
      await admin.keyboard.press('Enter');
      await admin.locator('h1', { hasText: reached }).waitFor();
      assert.equal(await admin.evaluate(() => decodeURIComponent(location.hash)), `#/repo/${reached}`);
    }),
  );

  it(
    'fits a phone and a wide screen without page-level horizontal overflow (and has a dark mode)',
    testTimeout,
    diag.explained(async () => {
      const pages: Array<[string, string, string]> = [
        ['list', '#/', 'Repositories'],
        ['repository', '#/repo/shop/multi', 'shop/multi'],
        ['image', `#/image/shop/single@${images.single.manifest.digest}`, shortHex(images.single.manifest.digest)],
        ['index', `#/image/shop/multi@${images.multi.index.digest}`, shortHex(images.multi.index.digest)],
      ];
      // Every page is photographed before any overflow fails the test, so all can be looked at.
      const overflows: string[] = [];
      for (const [device, viewport] of [
        ['phone', { width: 390, height: 844 }],
        ['wide', { width: 1600, height: 1000 }],
      ] as const) {
        await admin.setViewportSize(viewport);
        for (const [name, hash, title] of pages) {
          await go(admin, hash, title, { contains: name === 'image' || name === 'index' });
          await admin.locator('table').first().waitFor();
          await settled(admin);
          const overflow = await horizontalOverflow(admin, `${device} ${name}`);
          if (overflow) overflows.push(overflow);
          await saveScreenshot(admin, screenshots, `${device}-${name}`);
        }
      }
      await admin.setViewportSize({ width: 1280, height: 800 });
      // Dark mode (prefers-color-scheme), photographed for review.
      await admin.emulateMedia({ colorScheme: 'dark' });
      await go(admin, '#/repo/shop/multi', 'shop/multi');
      await admin.locator('tr[data-tag]').first().waitFor();
      await settled(admin);
      await saveScreenshot(admin, screenshots, 'dark-repository');
      await admin.emulateMedia({ colorScheme: 'light' });
      assert.deepEqual(overflows, []);
    }),
  );

  it(
    'as viewer: lists only shop/*, offers no deletes, and refuses other repositories',
    testTimeout,
    diag.explained(async () => {
      const page = await logInAs('viewer');
      await eventually(async () => assert.deepEqual(await repositoryNames(page), ['shop/multi', 'shop/single']));
      assert.match(await page.locator('[data-field=total]').innerText(), /\b2\b/);
      await saveScreenshot(page, screenshots, 'viewer-list');

      await go(page, '#/repo/shop/single', 'shop/single');
      await page.locator('tr[data-tag=v1]').waitFor();
      assert.equal(await page.locator('button[data-action=delete-tag]').count(), 0, 'no delete buttons for a pull-only user');
      await go(page, `#/image/shop/single@${images.single.manifest.digest}`, shortHex(images.single.manifest.digest), { contains: true });
      await page.locator('table[data-table=layers] tr[data-layer]').first().waitFor();
      assert.equal(await page.locator('button[data-action=delete-manifest]').count(), 0);
      await saveScreenshot(page, screenshots, 'viewer-image');

      await page.evaluate(() => (location.hash = '#/repo/other/secret'));
      await page.locator('[role=alert]').first().waitFor();
      assert.equal(await page.locator('tr[data-tag]').count(), 0, 'nothing of other/secret is shown');
      await saveScreenshot(page, screenshots, 'viewer-refused');

      // The tab keeps the login across a reload of the page; Log out ends it.
      await go(page, '#/', 'Repositories');
      await page.reload();
      await page.locator('[data-field=user]', { hasText: 'viewer' }).waitFor();
      await page.locator('tr[data-repository="shop/single"]').waitFor();
      assert.equal(await page.locator('form[data-form=login]').count(), 0, 'no login form after the reload');
      await page.locator('button[data-action=logout]').click();
      await page.locator('form[data-form=login]').waitFor();
      await page.reload();
      await page.locator('form[data-form=login]').waitFor();
      assert.equal(await page.locator('[data-field=user]').count(), 0, 'logged out');
      await page.close();
    }),
  );

  it(
    'deletes a manifest after a confirmation that names the tags going with it',
    testTimeout,
    diag.explained(async () => {
      const digest = images.single.manifest.digest;
      await go(admin, `#/image/other/secret@${digest}`, shortHex(digest), { contains: true });
      const dialog = admin.locator('dialog[data-dialog=confirm]');
      await admin.locator('button[data-action=delete-manifest]').click();
      await dialog.waitFor({ state: 'visible' });
      const question = await dialog.innerText();
      for (const named of ['other/secret', digest, 'v1']) assert.ok(question.includes(named), `the confirmation names ${named}:\n${question}`);
      await dialog.locator('button[data-action=confirm]').click();
      await dialog.waitFor({ state: 'hidden' });
      await admin.waitForFunction(() => document.querySelector('h1')?.textContent?.trim() === 'other/secret');
      // The repository page, with the tag gone.
      await admin.locator('table[data-table=tags]').waitFor();
      assert.equal(await admin.locator('table[data-table=tags] tr[data-tag]').count(), 0);
      const manifest = await fetch(`${berth.url}/v2/other/secret/manifests/${digest}`, { method: 'HEAD', headers: { Authorization: basic('admin') } });
      assert.equal(manifest.status, 404, 'the manifest is gone');
      const stillThere = await fetch(`${berth.url}/v2/shop/single/manifests/${digest}`, { method: 'HEAD', headers: { Authorization: basic('admin') } });
      assert.equal(stillThere.status, 200, 'the same manifest in another repository stays');
    }),
  );

  it(
    'requested nothing from any other origin and logged no console errors',
    testTimeout,
    diag.explained(async () => {
      assert.ok(browser.requests.some((url) => url.startsWith(`${berth.url}/berth/v1/`)), 'the UI API was used');
      assertOwnOrigin(browser.requests, `${berth.url}/`);
      assert.deepEqual(unexpectedConsoleErrors(browser, `${berth.url}/`), []);
    }),
  );
});

describe('web UI under http.prefix without auth', () => {
  it(
    'serves the UI at /registry/ui/: lists, pages through and opens repositories, using only /registry/ URLs',
    testTimeout,
    diag.explained(async () => {
      const prefixed = await serveBerth('prefix', () => [], {
        readyPath: '/registry/v2/',
        edit: (config) => config.replace(/^http:$/m, 'http:\n  prefix: /registry/'),
      });
      let own: TestBrowser | undefined;
      try {
        own = await launchBrowser();
        // skopeo cannot reach an API under a path, so the image goes in over HTTP.
        const base = `${prefixed.url}/registry`;
        const { manifest, layoutDir } = images.single;
        for (const blob of [manifest.json.config!, ...manifest.json.layers!]) {
          await pushBlob(base, 'web/app', await readLayoutBlob(layoutDir, blob.digest));
        }
        const put = await putManifest(base, 'web/app', 'v1', manifest.bytes, manifest.mediaType);
        assert.equal(put.status, 201, await put.text());
        // Enough more repositories for more than one page of the list (they sort after web/app).
        const bulk = Array.from({ length: bulkRepositories }, (_, i) => `zz/r${String(i).padStart(3, '0')}`);
        for (let i = 0; i < bulk.length; i += 6) await Promise.all(bulk.slice(i, i + 6).map((name) => pushImage(base, name, 'v1')));

        // The registry's root sends a browser to the UI.
        const page = await newTab(own);
        await page.goto(`${base}/`);
        assert.ok(page.url().startsWith(`${base}/ui/`), `redirected to the UI: ${page.url()}`);
        await page.locator('tr[data-repository="web/app"]').waitFor();
        assert.equal(await page.locator('form[data-form=login]').count(), 0, 'no login without auth');
        assert.match(await page.locator('[data-field=total]').innerText(), new RegExp(`\\b${bulk.length + 1}\\b`));
        await saveScreenshot(page, screenshots, 'prefix-list');

        // Next page until there is none: every repository once, in order; Previous goes back.
        const pages = [await repositoryNames(page)];
        while (!(await page.locator('button[data-action=next-page]').isDisabled())) {
          assert.ok(pages.length < 10, 'the list ends');
          const last = pages.at(-1)!.at(-1)!;
          await page.locator('button[data-action=next-page]').click();
          pages.push(
            await eventually(async () => {
              const shown = await repositoryNames(page);
              assert.ok(shown.length > 0 && shown[0]! > last, `the page after ${last}: ${shown.join(', ')}`);
              return shown;
            }),
          );
        }
        assert.ok(pages.length > 1, 'more than one page');
        assert.deepEqual(pages.flat(), ['web/app', ...bulk]);
        await page.locator('button[data-action=previous-page]').click();
        await eventually(async () => assert.deepEqual(await repositoryNames(page), pages.at(-2)));
        await page.goto(`${base}/ui/`);
        await page.locator('tr[data-repository="web/app"]').waitFor();
        await page.locator('tr[data-repository="web/app"] a').first().click();
        await page.locator('tr[data-tag=v1]').waitFor();
        const [row] = await tableRows(page, 'tags', 'tag');
        assert.equal(Number(row!.bytes.size), sizes.single);
        // Pulls go to the registry's host; the path prefix is the proxy's business, not a client's.
        assert.equal((await page.locator('code[data-field=pull-docker]').innerText()).trim(), `docker pull ${prefixed.hostPort}/web/app:v1`);

        assertOwnOrigin(own.requests, `${base}/`);
        assert.deepEqual(unexpectedConsoleErrors(own, `${base}/`), []);
      } finally {
        await own?.close();
        await prefixed.stop();
      }
    }),
  );
});

describe('web UI with the token server', () => {
  it(
    'logs in through the form with a token and browses',
    testTimeout,
    diag.explained(async () => {
      const tokened = await serveBerth('token', (port) => [
        'auth:',
        '  token:',
        `    realm: http://127.0.0.1:${port}/auth/token`,
        '    service: berth-e2e',
        '    issuer: berth-e2e-issuer',
        '  tokenserver:',
        `    htpasswd: ${htpasswdFile()}`,
        `    signingkey: ${join(work, 'token.pem')}`,
        '    expiration: 5m',
        ...accessRules,
      ]);
      let own: TestBrowser | undefined;
      try {
        own = await launchBrowser();
        await skopeoPush(tokened, images.multi.layout, 'shop/tokened:list', { all: true });
        const page = await newTab(own);
        await logIn(page, tokened, 'viewer', 'wrong');
        await page.locator('[role=alert]', { hasText: /wrong user name or password/i }).waitFor();
        await logIn(page, tokened, 'viewer');
        await page.locator('[data-field=user]', { hasText: 'viewer' }).waitFor();
        await page.locator('tr[data-repository="shop/tokened"]').waitFor();
        await saveScreenshot(page, screenshots, 'token-list');
        await page.locator('tr[data-repository="shop/tokened"] a').first().click();
        await page.locator('tr[data-tag=list]').waitFor();
        const [row] = await tableRows(page, 'tags', 'tag');
        assert.equal(Number(row!.bytes.size), sizes.multi);
        assert.equal(row!.text.platforms, 'linux/amd64, linux/arm64');
        await settled(page);
        await saveScreenshot(page, screenshots, 'token-repository');
        await page.locator('tr[data-tag=list] a[href*="#/image/"]').first().click();
        await page.locator('table[data-table=platforms] tr[data-platform="linux/arm64"]').waitFor();
        assert.equal(Number(await page.locator('[data-field=total-size]').getAttribute('data-bytes')), sizes.multi);
        await settled(page);
        await saveScreenshot(page, screenshots, 'token-image');

        assertOwnOrigin(own.requests, `${tokened.url}/`);
        assert.deepEqual(unexpectedConsoleErrors(own, `${tokened.url}/`, { bearer: true }), []);
      } finally {
        await own?.close();
        await tokened.stop();
      }
    }),
  );
});
