import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './registry-server.js';

/** The CLI as users run it: the compiled entry point. */
export const berthBin = join(repoRoot, 'bin', 'berth.js');

/**
 * Rebuilds dist/ when it is missing or older than a source file it is built from, so tests of
 * the compiled CLI never check yesterday's code.
 */
export async function ensureBuilt(): Promise<void> {
  if (!(await distIsStale())) return;
  await promisify(execFile)(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: repoRoot,
    timeout: 120_000,
  });
}

async function distIsStale(): Promise<boolean> {
  let built: number;
  try {
    built = (await stat(join(repoRoot, 'dist/cli/main.js'))).mtimeMs;
  } catch {
    return true;
  }
  const sources = await readdir(join(repoRoot, 'src'), { recursive: true });
  for (const source of sources) {
    if (!source.endsWith('.ts') || source.endsWith('.test.ts') || source.split('/').includes('testing')) continue;
    if ((await stat(join(repoRoot, 'src', source))).mtimeMs > built) return true;
  }
  return false;
}
