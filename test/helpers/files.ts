import { readdirSync, readlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every file and directory below `dir`, as sorted paths relative to it (directories end in `/`).
 * A missing directory lists as empty, so "nothing was stored here" is one comparison.
 */
export async function listTree(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(dir, relative), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        found.push(`${path}/`);
        await walk(path);
      } else {
        found.push(path);
      }
    }
  };
  await walk('');
  return found.sort();
}

/**
 * Descriptors of this process open on files under `root`. Only those: a test's own client
 * sockets open and close on their own schedule (keep-alive), which a count of every descriptor
 * would mistake for a leak or its absence.
 */
export function openFilesUnder(root: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(root)) count++;
    } catch {
      // closed between the listing and the readlink
    }
  }
  return count;
}
