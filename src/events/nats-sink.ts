import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { RegistryEvent } from './event.js';
import { encodeEvents, type EventFormat } from './event-format.js';
import type { EventSink } from './event-sink.js';

export interface NatsSinkOptions {
  /** The endpoint's name (logs, metric labels, the NATS connection name). */
  readonly name: string;
  /** NATS server URL(s), `nats://host:4222`; several separated by commas. */
  readonly url: string;
  /** The subject each event is published to. */
  readonly subject: string;
  /**
   * A JetStream stream to create for the subject when it does not exist yet. Without it, a
   * stream covering the subject must exist (publishing is refused otherwise).
   */
  readonly stream?: string;
  /** Per connect and per publish acknowledgement. */
  readonly timeoutMs: number;
  /** The message body: the envelope with one event, or one CloudEvent. */
  readonly format: EventFormat;
}

/**
 * Publishes each event as one JetStream message (the envelope with that one event, or one
 * CloudEvent) and waits for the stream's acknowledgement. The event id is the message id
 * (`Nats-Msg-Id`), so a publish retried after a lost ack is dropped by JetStream's duplicate
 * window instead of stored twice. Connects lazily and again after a failure, so a NATS server
 * that is down at startup is only a delivery failure, retried like any other.
 */
export class NatsSink implements EventSink {
  readonly name: string;
  readonly maxBatch = 1;
  private connection: Promise<{ nc: NatsConnection; js: JetStreamClient }> | undefined;

  constructor(private readonly options: NatsSinkOptions) {
    this.name = options.name;
  }

  async write(events: readonly RegistryEvent[], signal: AbortSignal): Promise<void> {
    const { js } = await this.connected();
    for (const event of events) {
      if (signal.aborted) throw signal.reason;
      const { body } = encodeEvents([event], this.options.format);
      try {
        await js.publish(this.options.subject, body, { msgID: event.id, timeout: this.options.timeoutMs });
      } catch (error) {
        this.reset();
        throw error;
      }
    }
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    const opened = await connection?.catch(() => undefined);
    await opened?.nc.close().catch(() => undefined);
  }

  private connected(): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    this.connection ??= this.open();
    const opening = this.connection;
    opening.catch(() => {
      if (this.connection === opening) this.connection = undefined;
    });
    return opening;
  }

  private async open(): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    const nc = await connect({ servers: this.options.url.split(','), timeout: this.options.timeoutMs, name: `berth-events-${this.name}` });
    try {
      if (this.options.stream !== undefined) {
        const jsm = await jetstreamManager(nc, { timeout: this.options.timeoutMs });
        const exists = await jsm.streams.info(this.options.stream).then(
          () => true,
          () => false,
        );
        if (!exists) await jsm.streams.add({ name: this.options.stream, subjects: [this.options.subject] });
      }
      return { nc, js: jetstream(nc, { timeout: this.options.timeoutMs }) };
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
  }

  /** Drops the connection after a failed publish, so the next attempt starts clean. */
  private reset(): void {
    void this.close();
  }
}
