import { eventsEnvelopeMediaType, type RegistryEvent } from './event.js';

/**
 * `envelope`: Distribution's `{"events":[...]}`, several events per message;
 * `cloudevents`: one CloudEvents 1.0 structured-mode JSON object per message (a Berth extension).
 */
export type EventFormat = 'envelope' | 'cloudevents';

/** One message body and its content type. */
export interface EncodedEvents {
  /** The media type to send the body with. */
  readonly contentType: string;
  /** JSON text. */
  readonly body: string;
}

const cloudEventsMediaType = 'application/cloudevents+json';

/** Events one message may carry in the format: CloudEvents structured mode has one per message. */
export function maxEventsPerMessage(format: EventFormat): number {
  return format === 'cloudevents' ? 1 : 100;
}

/** The message body for events (for `cloudevents`, exactly one event). */
export function encodeEvents(events: readonly RegistryEvent[], format: EventFormat): EncodedEvents {
  if (format === 'envelope') return { contentType: eventsEnvelopeMediaType, body: JSON.stringify({ events }) };
  if (events.length !== 1) throw new RangeError('a CloudEvents structured-mode message carries exactly one event');
  return { contentType: cloudEventsMediaType, body: JSON.stringify(toCloudEvent(events[0]!)) };
}

/**
 * The event as a CloudEvent: `type` names the action and kind of target
 * (`io.berth.registry.manifest.push`), `source` the registry process, `subject` the repository
 * and digest, and `data` is the Distribution event itself, so receivers need one parser.
 */
export function toCloudEvent(event: RegistryEvent): Record<string, unknown> {
  const kind = event.target.url.includes('/manifests/') ? 'manifest' : 'blob';
  return {
    specversion: '1.0',
    id: event.id,
    source: `berth://${event.source.addr}/${event.source.instanceID}`,
    type: `io.berth.registry.${kind}.${event.action}`,
    subject: event.target.digest !== undefined ? `${event.target.repository}@${event.target.digest}` : `${event.target.repository}:${event.target.tag ?? ''}`,
    time: event.timestamp,
    datacontenttype: 'application/json',
    data: event,
  };
}
