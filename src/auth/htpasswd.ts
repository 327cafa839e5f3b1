import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import bcrypt from 'bcryptjs';

/** The bcrypt cost of passwords Berth writes (`berth user add`, the generated admin). */
export const bcryptCost = 10;

/** The user a missing htpasswd file is created with. */
export const generatedUser = 'admin';

/** A line of the file could not be used; the message names the line and the user. */
export class HtpasswdError extends Error {
  override readonly name = 'HtpasswdError';
}

/** `user:hash` lines. bcrypt (`$2y$`, `$2a$`, `$2b$`) only; comments (`#`) and blank lines are skipped. */
export function parseHtpasswd(text: string, file = 'htpasswd'): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${file} line ${i + 1}`;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HtpasswdError(`${where}: expected user:hash`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      throw new HtpasswdError(`${where} (user ${JSON.stringify(user)}): ${describeHash(hash)}; only bcrypt hashes are accepted (htpasswd -B, or berth user passwd)`);
    }
    if (users.has(user)) throw new HtpasswdError(`${where}: user ${JSON.stringify(user)} appears twice`);
    users.set(user, hash);
  });
  return users;
}

function describeHash(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'an MD5 (apr1) hash';
  if (hash.startsWith('{SHA}')) return 'a SHA-1 hash';
  if (hash.startsWith('$5$') || hash.startsWith('$6$')) return 'a SHA-2 crypt hash';
  if (hash.startsWith('$2')) return 'a malformed bcrypt hash';
  return 'not a bcrypt hash (crypt or plain text)';
}

export function formatHtpasswd(users: ReadonlyMap<string, string>): string {
  return [...users].map(([user, hash]) => `${user}:${hash}\n`).join('');
}

/** A user name the file can hold and Basic auth can carry. */
export function checkUserName(user: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(user)) {
    throw new HtpasswdError(`user name ${JSON.stringify(user)}: use 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`);
  }
}

export async function hashPassword(password: string): Promise<string> {
  return await bcrypt.hash(password, bcryptCost);
}

/**
 * Creates the file with one generated user when it does not exist (as Distribution does).
 * Returns the generated credentials, or undefined when the file was already there. Never
 * overwrites: the file is created exclusively.
 */
export async function createHtpasswdIfMissing(path: string): Promise<{ user: string; password: string } | undefined> {
  try {
    await stat(path);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const password = randomBytes(24).toString('base64url');
  const line = `${generatedUser}:${await hashPassword(password)}\n`;
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  try {
    await handle.writeFile(line);
  } finally {
    await handle.close();
  }
  return { user: generatedUser, password };
}

/** Reads, changes and writes the file as a whole (temporary name, then rename). For `berth user`. */
export async function updateHtpasswd(
  path: string,
  change: (users: Map<string, string>) => void | Promise<void>,
): Promise<void> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  }
  const users = parseHtpasswd(text, path);
  await change(users);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, formatHtpasswd(users), { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
}

export interface HtpasswdUsersOptions {
  /** Successful verifications kept (each saves a bcrypt check). */
  cacheSize?: number;
  /** The file is looked at (stat) at most this often. */
  checkIntervalMs?: number;
  /** How a password is checked against a bcrypt hash (tests watch the calls); default bcryptjs. */
  compare?: (password: string, hash: string) => Promise<boolean>;
}

/**
 * The users of an htpasswd file, for checking Basic credentials. The file is stat-ed at most
 * once per `checkIntervalMs` and read again when its modification time, size or inode changed.
 * Docker sends Basic credentials with every request, so a successful check is remembered under
 * an HMAC of user and password (a per-process random key: the cache never holds a password or a
 * hash an attacker could test offline), in a bounded cache that each reload empties. Failed
 * checks are not remembered: each costs a bcrypt comparison, which slows guessing.
 */
export class HtpasswdUsers {
  private users = new Map<string, string>();
  private signature = '';
  private lastCheck = 0;
  private loading: Promise<void> | undefined;
  private readonly key = randomBytes(32);
  private readonly verified = new Map<string, string>();
  private readonly cacheSize: number;
  private readonly checkIntervalMs: number;
  private readonly compare: (password: string, hash: string) => Promise<boolean>;
  /**
   * What an unknown user's password is compared against, so that the answer takes as long as
   * for a known user: a hash of a random password with the bcrypt cost most of the file's users
   * have (a fixed cost would give unknown users away whenever the file's cost differs, such as
   * `htpasswd -B`'s default 5 against Berth's 10).
   */
  private dummyHash = '';
  /** Dummy hashes by cost, made once per process. */
  private static readonly dummies = new Map<number, Promise<string>>();

  private constructor(
    readonly path: string,
    options: HtpasswdUsersOptions,
  ) {
    this.cacheSize = options.cacheSize ?? 1024;
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
    this.compare = options.compare ?? ((password, hash) => bcrypt.compare(password, hash));
  }

  /** Loads the file; throws HtpasswdError (naming line and user) when a line cannot be used. */
  static async load(path: string, options: HtpasswdUsersOptions = {}): Promise<HtpasswdUsers> {
    const users = new HtpasswdUsers(path, options);
    await users.reload();
    return users;
  }

  /** The user names, sorted. */
  async names(): Promise<string[]> {
    await this.refresh();
    return [...this.users.keys()].sort();
  }

  /**
   * The user name when the password is right, undefined when it is not (or the user is
   * unknown). Throws when the file changed and can no longer be read or parsed: failing closed
   * rather than trusting users that may have been removed.
   */
  async verify(user: string, password: string): Promise<string | undefined> {
    await this.refresh();
    const cacheKey = createHmac('sha256', this.key).update(user).update('\0').update(password).digest('base64');
    const hit = this.verified.get(cacheKey);
    if (hit !== undefined) {
      this.verified.delete(cacheKey);
      this.verified.set(cacheKey, hit); // most recently used last
      return hit;
    }
    const hash = this.users.get(user);
    const generation = this.signature;
    const ok = await this.compare(password, hash ?? this.dummyHash);
    if (!ok || hash === undefined) return undefined;
    if (generation === this.signature) {
      this.verified.set(cacheKey, user);
      if (this.verified.size > this.cacheSize) this.verified.delete(this.verified.keys().next().value!);
    }
    return user;
  }

  private static async dummy(cost: number): Promise<string> {
    let made = HtpasswdUsers.dummies.get(cost);
    if (made === undefined) {
      made = bcrypt.hash(randomBytes(16).toString('hex'), cost);
      HtpasswdUsers.dummies.set(cost, made);
    }
    return await made;
  }

  private async refresh(): Promise<void> {
    if (this.loading) return await this.loading;
    if (Date.now() - this.lastCheck < this.checkIntervalMs) return;
    this.loading = this.reloadIfChanged().finally(() => (this.loading = undefined));
    await this.loading;
  }

  private async reloadIfChanged(): Promise<void> {
    this.lastCheck = Date.now();
    let current: string;
    try {
      const info = await stat(this.path);
      current = `${info.mtimeMs}:${info.size}:${info.ino}`;
    } catch (error) {
      this.forget();
      throw new HtpasswdError(`htpasswd file ${this.path} is no longer readable`, { cause: error });
    }
    if (current !== this.signature) await this.reload();
  }

  private async reload(): Promise<void> {
    this.lastCheck = Date.now();
    const info = await stat(this.path);
    const signature = `${info.mtimeMs}:${info.size}:${info.ino}`;
    let users: Map<string, string>;
    try {
      users = parseHtpasswd(await readFile(this.path, 'utf8'), this.path);
    } catch (error) {
      this.forget();
      throw error;
    }
    this.dummyHash = await HtpasswdUsers.dummy(commonCost(users.values()));
    this.users = users;
    this.signature = signature;
    this.verified.clear();
  }

  /** Nobody is trusted until the file can be read again (the next check retries); unknown users still cost a comparison. */
  private forget(): void {
    this.users = new Map();
    this.signature = '';
    this.verified.clear();
  }
}

/** The bcrypt cost most of these hashes have (the higher on a tie); Berth's own for none. */
function commonCost(hashes: Iterable<string>): number {
  const counts = new Map<number, number>();
  for (const hash of hashes) {
    const cost = Number(hash.slice(4, 6));
    counts.set(cost, (counts.get(cost) ?? 0) + 1);
  }
  let best = bcryptCost;
  let bestCount = 0;
  for (const [cost, count] of counts) {
    if (count > bestCount || (count === bestCount && cost > best)) [best, bestCount] = [cost, count];
  }
  return best;
}
