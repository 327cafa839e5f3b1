import { z } from 'zod';
import { duration, flag, headerMap, int, section, text } from '../values.js';

const checks = { interval: duration.optional(), threshold: int.optional() };

/** `health`: checks that make the registry report itself unhealthy. */
export const healthSchema = section({
  storagedriver: section({ enabled: flag.optional(), ...checks }).optional(),
  file: z.array(section({ file: text, ...checks }), { error: 'must be a list of file checks' }).optional(),
  http: z
    .array(section({ uri: text, headers: headerMap.nullish(), statuscode: int.optional(), timeout: duration.optional(), ...checks }), {
      error: 'must be a list of HTTP checks',
    })
    .optional(),
  tcp: z.array(section({ addr: text, timeout: duration.optional(), ...checks }), { error: 'must be a list of TCP checks' }).optional(),
}).optional();

export type HealthConfig = NonNullable<z.output<typeof healthSchema>>;
