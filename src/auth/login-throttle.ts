import { isIPv6 } from 'node:net';

export interface LoginThrottleOptions {
  /** Failed logins one user name may have within `windowMs`; then it is refused until the window ends. */
  attempts: number;
  /** Failed logins one client address may have within `windowMs` (higher: several users may share it). */
  addressAttempts: number;
  windowMs: number;
  /** User names and addresses tracked at most, each; past it the oldest entry is forgotten. */
  maxTracked?: number;
  /** The clock, in milliseconds (tests move it by hand). */
  now?: () => number;
}

/** A login that was not even tried: the user name or the address has had too many failures. */
export class LoginThrottledError extends Error {
  override readonly name = 'LoginThrottledError';
  constructor(
    /** Whole seconds until the refusing window ends (at least 1): the `Retry-After` value. */
    readonly retryAfterSeconds: number,
  ) {
    super(`too many failed logins; try again in ${retryAfterSeconds} s`);
  }
}

/** What one user name or one address has done in its current window. */
interface Tally {
  /** When the window began (the first attempt after the previous window ended). */
  start: number;
  failures: number;
  /** Attempts being checked right now; they count against the limit until they are decided. */
  pending: number;
}

const defaultMaxTracked = 10_000;

/**
 * Brute-force protection for password logins (Basic auth, the token server). Failed attempts
 * are counted per user name (known or not, so the answer says nothing about which names exist)
 * and per client address, in a window that starts with the first attempt. A name or address
 * that reached its limit is refused until its window ends, before the password is looked at:
 * refused attempts cost no bcrypt work and are not counted again. Attempts still in progress
 * count too, so a burst of parallel guesses cannot all get through before the first one fails.
 * Successful logins below the limit pass untouched and do not reset the count (an attacker
 * with an account of their own could otherwise wipe their address's failures).
 *
 * The counts live in this process's memory: with several workers or replicas each counts on its
 * own, so a client spread over N of them gets up to N times the limit. Memory is bounded by
 * `maxTracked` entries per kind; when a flood of new names or addresses fills it, the oldest
 * entries are forgotten first.
 */
export class LoginThrottle {
  private readonly users = new Map<string, Tally>();
  private readonly addresses = new Map<string, Tally>();
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(private readonly options: LoginThrottleOptions) {
    this.maxTracked = options.maxTracked ?? defaultMaxTracked;
    this.now = options.now ?? Date.now;
  }

  /**
   * Runs `check` (a password verification answering the user, or undefined when it failed)
   * unless the user name or the address is over its limit, and counts a failure when it fails.
   * Throws LoginThrottledError, without calling `check`, when over the limit.
   */
  async attempt<T>(user: string, address: string | undefined, check: () => Promise<T | undefined>): Promise<T | undefined> {
    const now = this.now();
    const userKey = user;
    const addressKey = clientKey(address);
    const userTally = this.current(this.users, userKey, now);
    const addressTally = this.current(this.addresses, addressKey, now);
    const wait = Math.max(
      this.refusal(userTally, this.options.attempts, now),
      this.refusal(addressTally, this.options.addressAttempts, now),
    );
    if (wait > 0) throw new LoginThrottledError(wait);
    const tallies = [this.track(this.users, userKey, userTally, now), this.track(this.addresses, addressKey, addressTally, now)];
    for (const tally of tallies) tally.pending++;
    let outcome: T | undefined;
    try {
      outcome = await check();
    } finally {
      for (const tally of tallies) tally.pending--;
    }
    if (outcome === undefined) {
      for (const tally of tallies) tally.failures++;
    } else {
      this.forgetIfClean(this.users, userKey);
      this.forgetIfClean(this.addresses, addressKey);
    }
    return outcome;
  }

  /** Entries tracked now (for tests of the memory bound). */
  get tracked(): { users: number; addresses: number } {
    return { users: this.users.size, addresses: this.addresses.size };
  }

  /** The tally in its current window, or undefined when there is none (or it ran out). */
  private current(map: Map<string, Tally>, key: string, now: number): Tally | undefined {
    const tally = map.get(key);
    if (tally === undefined || now - tally.start < this.options.windowMs) return tally;
    if (tally.pending === 0) {
      map.delete(key);
      return undefined;
    }
    // A new window for a key with attempts still running: move it to the back of the eviction order.
    tally.start = now;
    tally.failures = 0;
    map.delete(key);
    map.set(key, tally);
    return tally;
  }

  /** Whole seconds this tally must wait before another attempt, 0 when it may try now. */
  private refusal(tally: Tally | undefined, limit: number, now: number): number {
    if (tally === undefined || tally.failures + tally.pending < limit) return 0;
    // Over the limit only through attempts still in progress: they may yet succeed; ask for a second.
    if (tally.failures < limit) return 1;
    return Math.max(1, Math.ceil((tally.start + this.options.windowMs - now) / 1000));
  }

  private track(map: Map<string, Tally>, key: string, tally: Tally | undefined, now: number): Tally {
    if (tally !== undefined) return tally;
    if (map.size >= this.maxTracked) map.delete(map.keys().next().value!);
    const fresh: Tally = { start: now, failures: 0, pending: 0 };
    map.set(key, fresh);
    return fresh;
  }

  /** A key with nothing against it need not take a place in the map. */
  private forgetIfClean(map: Map<string, Tally>, key: string): void {
    const tally = map.get(key);
    if (tally !== undefined && tally.failures === 0 && tally.pending === 0) map.delete(key);
  }
}

/**
 * The key an address is counted under: IPv4 (also when mapped into IPv6) as it is, IPv6 by its
 * /64 prefix, because one host commonly holds a whole /64 and could otherwise change address
 * for every guess. No address (a unix socket) is one local client.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'local';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  // Spelled out in eight groups: the zone dropped, an embedded IPv4 tail as two groups, `::` filled.
  const plain = address.split('%')[0]!.replace(/\d+\.\d+\.\d+\.\d+$/, '0:0');
  const [head = '', tail = ''] = plain.split('::');
  const split = (part: string) => (part === '' ? [] : part.split(':'));
  const groups = plain.includes('::')
    ? [...split(head), ...Array<string>(8 - split(head).length - split(tail).length).fill('0'), ...split(tail)]
    : split(head);
  return `${groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
}
