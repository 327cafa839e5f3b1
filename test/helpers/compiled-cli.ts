import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './registry-server.js';

/** The CLI as users run it: the compiled entry point. */
export const berthBin = join(repoRoot, 'bin', 'berth.js');

/**
 * Rebuilds dist/ as `npm run build` does (the server with tsc, the web UI with
 * scripts/build-ui.mjs) when a build is missing or older than a source file it is built from,
 * so tests of the compiled CLI never check yesterday's code.
 */
export async function ensureBuilt(): Promise<void> {
  const options = { cwd: repoRoot, timeout: 120_000 };
  if (await isStale('dist/cli/main.js', 'src', (source) => source.endsWith('.ts') && !isTestOnly(source) && !source.startsWith('ui/app/'))) {
    await promisify(execFile)(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], options);
  }
  // The bundle takes browser-safe modules from elsewhere in src/ too (src/client/challenge.ts):
  // any source file, or the build script, newer than the bundle rebuilds it.
  const uiStale =
    (await isStale('dist/ui-assets/index.html', 'src', (source) => !isTestOnly(source))) ||
    (await isStale('dist/ui-assets/index.html', 'scripts', (source) => source === 'build-ui.mjs'));
  if (uiStale) {
    await promisify(execFile)(process.execPath, [join(repoRoot, 'scripts/build-ui.mjs')], options);
  }
}

function isTestOnly(source: string): boolean {
  return source.endsWith('.test.ts') || source.split('/').includes('testing');
}

/** Whether `output` is missing or older than a file under `sourceDir` that `isSource` accepts. */
async function isStale(output: string, sourceDir: string, isSource: (relativePath: string) => boolean): Promise<boolean> {
  let built: number;
  try {
    built = (await stat(join(repoRoot, output))).mtimeMs;
  } catch {
    return true;
  }
  const entries = await readdir(join(repoRoot, sourceDir), { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (!isSource(path.slice(join(repoRoot, sourceDir).length + 1))) continue;
    if ((await stat(path)).mtimeMs > built) return true;
  }
  return false;
}
