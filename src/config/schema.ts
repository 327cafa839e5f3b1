import { z } from 'zod';

/** Strings in YAML and in environment overrides may arrive as numbers (`version: 0.1`, `addr: 5000`). */
const text = z.union([z.string(), z.number()], { message: 'must be a string' }).transform(String);
/** Environment overrides arrive as text; YAML parsing turns `true` into a boolean already. */
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
  message: 'must be true or false',
});

/**
 * The implemented part of the configuration, with its defaults. Keys Distribution knows but Berth
 * does not implement yet are taken out (with a warning) before this schema runs; see keys.ts.
 */
export const configSchema = z
  .object({
    version: text.refine((v) => v === '0.1', { message: 'must be 0.1' }),
    log: z
      .object({
        level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
        accesslog: z.object({ disabled: flag.default(false) }).strict().default({ disabled: false }),
      })
      .strict()
      .default({ level: 'info', accesslog: { disabled: false } }),
    storage: z
      .object({
        filesystem: z
          .object({ rootdirectory: text.default('/var/lib/registry') })
          .strict()
          .nullish()
          .transform((v) => (v === null ? { rootdirectory: '/var/lib/registry' } : v)),
        inmemory: z.union([z.null(), z.object({}).strict()]).optional(),
        delete: z.object({ enabled: flag.default(false) }).strict().default({ enabled: false }),
      })
      .strict()
      .superRefine((storage, ctx) => {
        const drivers = [storage.filesystem !== undefined && 'filesystem', storage.inmemory !== undefined && 'inmemory'].filter(Boolean);
        if (drivers.length !== 1) {
          ctx.addIssue({
            code: 'custom',
            message:
              drivers.length === 0
                ? 'a storage driver is required (filesystem or inmemory)'
                : `exactly one storage driver may be configured, not ${drivers.join(' and ')}`,
          });
        }
      }),
    http: z
      .object({
        addr: text.default(':5000'),
        host: z.url({ message: 'must be an absolute URL such as https://registry.example.com' }).optional(),
      })
      .strict()
      .default({ addr: ':5000' }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
