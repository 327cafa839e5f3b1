import type { NatsEndpointConfig, NotificationsConfig, WebhookEndpointConfig } from '../config/sections/notifications.js';
import { eventFilter } from './event-filter.js';
import { EventQueue, type DeliveryLog, type DeliveryMetrics } from './event-queue.js';
import type { EventSink } from './event-sink.js';
import { NatsSink } from './nats-sink.js';
import { Notifier } from './notifier.js';
import { WebhookSink } from './webhook-sink.js';

export interface NotifierSetup {
  /** `source.addr` in every event: this registry's host:port. */
  readonly sourceAddr: string;
  /** Delivery metrics for every queue (labelled by endpoint name); absent when metrics are off. */
  readonly metrics?: DeliveryMetrics;
  /** Where endpoint setup, failures and drops are logged. */
  readonly log?: DeliveryLog;
}

/**
 * A queue per enabled endpoint of `notifications.endpoints` and `notifications.nats`; undefined
 * when there is none, so handlers skip building events altogether.
 */
export function createNotifier(config: NotificationsConfig | undefined, setup: NotifierSetup): Notifier | undefined {
  const queues: EventQueue[] = [];
  for (const endpoint of config?.endpoints ?? []) {
    if (endpoint.disabled) continue;
    const sink = new WebhookSink({ name: endpoint.name, url: endpoint.url, headers: endpoint.headers ?? undefined, timeoutMs: endpoint.timeout, format: endpoint.format });
    queues.push(queueFor(sink, endpoint, setup));
  }
  for (const endpoint of config?.nats ?? []) {
    if (endpoint.disabled) continue;
    const sink = new NatsSink({
      name: endpoint.name,
      url: endpoint.url,
      subject: endpoint.subject,
      stream: endpoint.stream,
      timeoutMs: endpoint.timeout,
      format: endpoint.format,
    });
    queues.push(queueFor(sink, endpoint, setup));
  }
  if (queues.length === 0) return undefined;
  return new Notifier(queues, setup.sourceAddr);
}

function queueFor(sink: EventSink, endpoint: WebhookEndpointConfig | NatsEndpointConfig, setup: NotifierSetup): EventQueue {
  setup.log?.info({ endpoint: endpoint.name, url: endpoint.url, timeout_ms: endpoint.timeout, format: endpoint.format }, 'configuring event endpoint');
  return new EventQueue(sink, {
    maxLength: endpoint.maxqueue,
    threshold: endpoint.threshold,
    backoffMs: endpoint.backoff,
    accepts: eventFilter({
      ignoredMediaTypes: [...(endpoint.ignoredmediatypes ?? []), ...(endpoint.ignore?.mediatypes ?? [])],
      ignoredActions: endpoint.ignore?.actions,
    }),
    metrics: setup.metrics,
    log: setup.log,
  });
}
