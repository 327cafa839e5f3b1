import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteIfPresent } from '../registry/links.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';

/**
 * Berth only: the garbage collection lease, a small JSON object beside `blobs/` and
 * `repositories/`, which Distribution never lists or reads. Whoever holds an unexpired lease is
 * the one collector of the store, across processes, workers and replicas.
 */
export const gcLeasePath = `${paths.root}/_berth/gc/lease`;

interface LeaseRecord {
  owner: string;
  expiresAt: number;
}

export interface LeaseOptions {
  /** How long the lease lasts without renewal. */
  ttlMs: number;
  owner?: string;
  now?: () => number;
  /**
   * Storage has no compare-and-swap: after writing, the claimant waits this long and reads the
   * lease back; of two collectors that wrote at once, only the last writer sees itself.
   */
  settleMs?: number;
}

export class LeaseLostError extends Error {
  constructor() {
    super('the garbage collection lease was taken by another collector; stopping');
    this.name = 'LeaseLostError';
  }
}

/** A held lease. Renews itself every third of its lifetime until released. */
export class GcLease {
  private timer: NodeJS.Timeout | undefined;
  private lostFlag = false;

  private constructor(
    private readonly driver: StorageDriver,
    readonly owner: string,
    private readonly options: Required<Pick<LeaseOptions, 'ttlMs' | 'now'>>,
  ) {}

  /** The lease, or undefined when another collector holds an unexpired one. */
  static async acquire(driver: StorageDriver, options: LeaseOptions): Promise<GcLease | undefined> {
    const now = options.now ?? Date.now;
    const owner = options.owner ?? randomUUID();
    const current = await readLease(driver);
    if (current && current.owner !== owner && current.expiresAt > now()) return undefined;
    await writeLease(driver, { owner, expiresAt: now() + options.ttlMs });
    await sleep(options.settleMs ?? 250);
    if ((await readLease(driver))?.owner !== owner) return undefined;
    const lease = new GcLease(driver, owner, { ttlMs: options.ttlMs, now });
    lease.timer = setInterval(() => void lease.renew().catch(() => undefined), Math.max(1, options.ttlMs / 3));
    lease.timer.unref();
    return lease;
  }

  /** True once a renewal found another owner: the holder must stop deleting. */
  get lost(): boolean {
    return this.lostFlag;
  }

  /** Throws LeaseLostError when the lease is no longer this collector's. */
  check(): void {
    if (this.lostFlag) throw new LeaseLostError();
  }

  /** Extends the lease; false (and `lost`) when someone else holds it now. */
  async renew(): Promise<boolean> {
    if (this.lostFlag) return false;
    const current = await readLease(this.driver);
    if (current && current.owner !== this.owner) {
      this.lostFlag = true;
      return false;
    }
    await writeLease(this.driver, { owner: this.owner, expiresAt: this.options.now() + this.options.ttlMs });
    return true;
  }

  /** Stops renewing and deletes the lease if it is still this collector's. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    if ((await readLease(this.driver))?.owner === this.owner) await deleteIfPresent(this.driver, gcLeasePath);
  }
}

async function readLease(driver: StorageDriver): Promise<LeaseRecord | undefined> {
  try {
    const parsed: unknown = JSON.parse((await driver.getContent(gcLeasePath)).toString('utf8'));
    const record = parsed as Partial<LeaseRecord>;
    if (typeof record.owner === 'string' && typeof record.expiresAt === 'number') return { owner: record.owner, expiresAt: record.expiresAt };
    return undefined;
  } catch (error) {
    if (isNotFound(error) || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

async function writeLease(driver: StorageDriver, record: LeaseRecord): Promise<void> {
  await driver.putContent(gcLeasePath, Buffer.from(JSON.stringify(record)));
}
