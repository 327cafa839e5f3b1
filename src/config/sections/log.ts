import { z } from 'zod';
import { flag, freeMap, section, stringList, text } from '../values.js';

const levels = ['error', 'warn', 'info', 'debug'] as const;
const levelMessage = 'must be one of error, warn, info, debug';

/** Distribution lower-cases the level before checking it, so `DEBUG` is accepted too. */
export const logLevel = z
  .string({ error: levelMessage })
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(levels, { error: levelMessage }));

const smtp = section({
  addr: text.optional(),
  username: text.optional(),
  password: text.optional(),
  insecure: flag.optional(),
});

const hook = section({
  type: text.optional(),
  disabled: flag.optional(),
  levels: stringList.optional(),
  options: section({ smtp: smtp.optional(), from: text.optional(), to: stringList.optional() }).optional(),
});

/**
 * `log`: level, formatter, fields and the access log are implemented (src/log.ts); hooks and
 * reportcaller not yet. Unlike Distribution, an unset formatter means JSON (pino's), not text.
 */
export const logSchema = section({
  level: logLevel.default('info'),
  formatter: z.enum(['text', 'json', 'logstash'], { error: 'must be one of text, json, logstash' }).optional(),
  fields: freeMap.optional(),
  hooks: z.array(hook).optional(),
  reportcaller: flag.optional(),
  accesslog: section({ disabled: flag.default(false) }).prefault({}),
}).prefault({});

/** `loglevel`: the top-level spelling Distribution deprecated in favour of `log.level`. */
export const loglevelSchema = logLevel.optional();

export type LogConfig = z.output<typeof logSchema>;
