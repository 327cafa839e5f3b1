#!/usr/bin/env node
// Builds the web UI (src/ui/app) into dist/ui-assets/: index.html, one minified ES2022 bundle
// app.js, app.css and favicon.svg, all flat, referenced relatively so they work under any path
// prefix. Run by `npm run build` (and so by `npm ci` through `prepare`). The UI must reach
// nothing outside the registry, so the build fails if an external URL slips into app.js,
// app.css or index.html.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}src/ui/app/`;
const out = `${root}dist/ui-assets/`;

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: [`${source}main.ts`],
  outfile: `${out}app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
});
await build({ entryPoints: [`${source}app.css`], outfile: `${out}app.css`, bundle: true, minify: true, charset: 'utf8', logLevel: 'warning' });
await copyFile(`${source}index.html`, `${out}index.html`);
await copyFile(`${source}favicon.svg`, `${out}favicon.svg`);

// A URL with a scheme (`https://host`, `wss://`) or a scheme-relative one (`//host/x`, which
// takes the page's scheme) would reach outside the registry; the minified files have no
// comments, so `//` followed by a host name can only be such a URL.
const externalUrl = /\b(?:https?|wss?|ftp):\/\/[^\s'"`)]*|(?:\b[a-z][a-z0-9+.-]*:)?\/\/[a-z0-9-]+(?:\.[a-z0-9-]+)*/i;
for (const file of ['app.js', 'app.css', 'index.html']) {
  const external = externalUrl.exec(await readFile(`${out}${file}`, 'utf8'));
  if (external) throw new Error(`build-ui: ${file} names an external URL (${external[0]}); the UI must only talk to its own registry`);
}

const sizes = [];
for (const file of ['index.html', 'app.js', 'app.css', 'favicon.svg']) sizes.push(`${file} ${(await stat(`${out}${file}`)).size} B`);
process.stdout.write(`build-ui: dist/ui-assets/ ${sizes.join(', ')}\n`);
