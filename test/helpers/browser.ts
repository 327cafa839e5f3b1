import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { repoRoot } from './registry-server.js';

/**
 * Flags for the Debian Chromium in a container without a display or a GPU. The `--disable-*`
 * flags stop Chromium's own traffic (updates, sync, field trials), so a test can demand that
 * every request it records came from the page under test.
 */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export interface BrowserOptions {
  /** The viewport of every page; default 1280×800. */
  viewport?: { width: number; height: number };
}

/** A headless Chromium with a fresh profile that records what its pages do. */
export interface TestBrowser {
  readonly context: BrowserContext;
  /** Every URL any page of this browser requested, in order (data: URLs included). */
  readonly requests: readonly string[];
  /** Every response any page of this browser got, in order: URL and status. */
  readonly responses: readonly { readonly url: string; readonly status: number }[];
  /** Console messages of type error and uncaught page exceptions, in order. */
  readonly consoleErrors: readonly string[];
  /** A new tab: its own sessionStorage, so nothing a logged-in tab kept leaks into it. */
  newPage(): Promise<Page>;
  /** Closes Chromium and removes its profile; safe to call twice. */
  close(): Promise<void>;
}

const launchTimeoutMs = 60_000;

/**
 * Starts Chromium (/usr/bin/chromium) with a persistent context in a new temporary profile: a
 * user data dir of its own, so no state of an earlier run or another test is seen.
 */
export async function launchBrowser(options: BrowserOptions = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'berth-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: [...chromiumArgs],
      viewport: options.viewport ?? { width: 1280, height: 800 },
      timeout: launchTimeoutMs,
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const requests: string[] = [];
  const responses: { url: string; status: number }[] = [];
  const consoleErrors: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  context.on('response', (response) => responses.push({ url: response.url(), status: response.status() }));
  context.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${message.text()} (at ${message.location().url || message.page()?.url()})`);
  });
  context.on('weberror', (error) => consoleErrors.push(`uncaught: ${error.error().stack ?? error.error().message}`));
  let closing: Promise<void> | undefined;
  let initialTab: Page | undefined = context.pages()[0];
  return {
    context,
    requests,
    responses,
    consoleErrors,
    // The persistent context opens with one blank tab; hand that out first.
    newPage: async () => {
      const page = initialTab ?? (await context.newPage());
      initialTab = undefined;
      return page;
    },
    close: () =>
      (closing ??= (async () => {
        try {
          await context.close();
        } finally {
          await rm(profile, { recursive: true, force: true });
        }
      })()),
  };
}

/** Where tests leave screenshots for people to look at: `${BERTH_TEST_ARTIFACTS:-<repo>/test-artifacts}/<group>/`. */
export function artifactsDir(group: string): string {
  return join(process.env.BERTH_TEST_ARTIFACTS || join(repoRoot, 'test-artifacts'), group);
}

/**
 * Saves a PNG of a whole page (full length) or of one element as `<artifacts>/<group>/<name>.png`
 * (kept after the test, for review) and returns its path.
 */
export async function saveScreenshot(target: Page | Locator, group: string, name: string): Promise<string> {
  const dir = artifactsDir(group);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  if ('goto' in target) await target.screenshot({ path: file, fullPage: true });
  else await target.screenshot({ path: file });
  return file;
}
