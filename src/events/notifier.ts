import { randomUUID } from 'node:crypto';
import type { EventFacts, EventPublisher, RegistryEvent } from './event.js';
import type { EventQueue } from './event-queue.js';

/** Sends each event to every endpoint's queue. */
export class Notifier implements EventPublisher {
  private readonly source: RegistryEvent['source'];

  /** `sourceAddr` is this registry's host:port, as receivers see it in `source.addr`. */
  constructor(
    private readonly queues: readonly EventQueue[],
    sourceAddr: string,
  ) {
    this.source = { addr: sourceAddr, instanceID: randomUUID() };
  }

  publish(facts: EventFacts): void {
    const event: RegistryEvent = { id: randomUUID(), timestamp: new Date().toISOString(), ...facts, source: this.source };
    for (const queue of this.queues) queue.push(event);
  }

  /**
   * Stops taking events and gives every queue until `deadlineMs` to deliver what it holds.
   * Resolves with the events each endpoint did not get.
   */
  async close(deadlineMs: number): Promise<Map<string, number>> {
    const left = await Promise.all(this.queues.map(async (queue) => [queue.name, await queue.close(deadlineMs)] as const));
    return new Map(left);
  }
}
