import { lstat, readlink } from 'node:fs/promises';
import { join, sep } from 'node:path';

/**
 * Path resolution inside a directory treated as a filesystem root, the way the kernel resolves
 * paths inside a chroot: `..` at the root stays at the root, and a symlink's target is read and
 * resolved again from the root (absolute target) or from the link's directory (relative target).
 * Each component is checked with lstat as it is reached, so no symlink, whoever wrote it (this
 * layer, an earlier one, or a path component created a moment ago), can lead outside the root.
 *
 * The check and the use of a path are not atomic: this is safe while nothing else writes in the
 * tree being unpacked (unpack.ts is its only writer), not against a concurrent attacker.
 *
 * A layer is untrusted input: this is what keeps `../escape`, `/etc/passwd`, `link -> /` followed
 * by `link/etc/x`, and every variation of them, inside the directory being unpacked.
 */

/** More symlinks than this on one path is a loop (Linux gives up after 40 as well). */
const maxSymlinks = 40;

/** Thrown when resolving a path meets more symlinks than any real tree needs. */
export class SymlinkLoopError extends Error {
  constructor(readonly path: string) {
    super(`too many levels of symbolic links resolving ${JSON.stringify(path)}`);
    this.name = 'SymlinkLoopError';
  }
}

/** The components of a path, without empty and `.` ones (`..` is kept: resolving handles it). */
export function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

/**
 * The host path that `path` (as seen from inside `root`) designates, always `root` or below it.
 * Every symlink met on the way is followed inside the root, the last component's too when
 * `followLast` is true; when false (the entry itself is being created, replaced or hard-linked)
 * the last component is returned as a name in its resolved parent, never a symlink's target.
 * Components that do not exist are taken as they are written (`..` still cannot climb above
 * the root). Returns the root itself for an empty path, `/`, or one that climbs above the root.
 */
export async function resolveInRoot(root: string, path: string, followLast: boolean): Promise<string> {
  const resolved: string[] = [];
  const pending = splitPath(path).reverse(); // a stack: the next component is at the end
  let symlinks = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    if (part.includes(sep) || part.includes('\0')) throw new TypeError(`invalid path component ${JSON.stringify(part)}`);
    const isLast = pending.length === 0;
    if (isLast && !followLast) {
      resolved.push(part);
      continue;
    }
    const host = join(root, ...resolved, part);
    let info;
    try {
      info = await lstat(host);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      // Every later component is still checked: `missing/../link` reaches `link` again.
      resolved.push(part);
      continue;
    }
    if (!info.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++symlinks > maxSymlinks) throw new SymlinkLoopError(path);
    const target = await readlink(host);
    if (target.startsWith('/')) resolved.length = 0;
    pending.push(...splitPath(target).reverse());
  }
  return resolved.length === 0 ? root : join(root, ...resolved);
}
