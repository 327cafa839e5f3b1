import { z } from 'zod';
import { duration, flag, headerMap, int, section, stringList, text } from '../values.js';

/** What every sink has: retry, queue bound, filtering and message format. */
const deliveryKeys = {
  name: text,
  disabled: flag.default(false),
  /** Per request (webhook) or per publish acknowledgement (NATS). */
  timeout: duration.default(1000),
  /** Consecutive failures after which delivery waits `backoff` between attempts. */
  threshold: int.min(0, { error: 'must be 0 or more' }).default(10),
  backoff: duration.default(1000),
  ignoredmediatypes: stringList.optional(),
  ignore: section({ mediatypes: stringList.optional(), actions: stringList.optional() }).optional(),
  /** Berth: events held for the endpoint at most; when full the oldest is dropped. */
  maxqueue: int.min(1, { error: 'must be 1 or more' }).default(10_000),
  /** Berth: `envelope` (Distribution's) or `cloudevents` (one structured-mode CloudEvent per message). */
  format: z.enum(['envelope', 'cloudevents'], { error: 'must be envelope or cloudevents' }).default('envelope'),
};

const endpoint = section({
  ...deliveryKeys,
  url: text,
  headers: headerMap.nullish(),
});

/** Berth: a NATS JetStream subject that gets every event. */
const natsEndpoint = section({
  ...deliveryKeys,
  /** One or more server URLs, comma-separated: `nats://127.0.0.1:4222`. */
  url: text,
  subject: text,
  /** A stream to create for the subject when missing; without it one must exist. */
  stream: text.optional(),
});

/** `notifications`: webhooks (and Berth's NATS subjects) told of registry events. */
export const notificationsSchema = section({
  events: section({ includereferences: flag.optional() }).optional(),
  endpoints: z.array(endpoint, { error: 'must be a list of endpoints' }).optional(),
  nats: z.array(natsEndpoint, { error: 'must be a list of NATS endpoints' }).optional(),
}).optional();

export type NotificationsConfig = NonNullable<z.output<typeof notificationsSchema>>;
export type WebhookEndpointConfig = z.output<typeof endpoint>;
export type NatsEndpointConfig = z.output<typeof natsEndpoint>;
