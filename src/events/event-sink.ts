import type { RegistryEvent } from './event.js';

/** Something events are delivered to: a webhook, a NATS subject. */
export interface EventSink {
  /** The endpoint's configured name, used in logs and metric labels. */
  readonly name: string;
  /** The most events one write may be given (1 for one-event-per-message formats). */
  readonly maxBatch: number;
  /**
   * Delivers the events, in order, and resolves only once the other side has accepted them
   * all (a 2xx, a JetStream ack). Rejects otherwise; the caller then writes the same events
   * again, so the receiver may see an event twice (each has a unique id). Gives up when the
   * signal fires.
   */
  write(events: readonly RegistryEvent[], signal: AbortSignal): Promise<void>;
  /** Releases connections; called once, after the last write. */
  close(): Promise<void>;
}
