import { z } from 'zod';
import { duration, flag, headerMap, int, section, stringList, text } from '../values.js';

const endpoint = section({
  name: text,
  disabled: flag.optional(),
  url: text,
  headers: headerMap.nullish(),
  timeout: duration.optional(),
  threshold: int.optional(),
  backoff: duration.optional(),
  ignoredmediatypes: stringList.optional(),
  ignore: section({ mediatypes: stringList.optional(), actions: stringList.optional() }).optional(),
});

/** `notifications`: webhooks called on registry events. */
export const notificationsSchema = section({
  events: section({ includereferences: flag.optional() }).optional(),
  endpoints: z.array(endpoint, { error: 'must be a list of endpoints' }).optional(),
}).optional();

export type NotificationsConfig = NonNullable<z.output<typeof notificationsSchema>>;
