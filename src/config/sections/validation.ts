import { z } from 'zod';
import { flag, section, stringList, text } from '../values.js';

const platformsMessage = 'must be one of all, none, list';

/** `validation`: checks on pushed manifests. */
export const validationSchema = section({
  /** Deprecated by Distribution in favour of disabled. */
  enabled: flag.optional(),
  disabled: flag.optional(),
  manifests: section({
    urls: section({ allow: stringList.optional(), deny: stringList.optional() }).optional(),
    indexes: section({
      platforms: z
        .string({ error: platformsMessage })
        .transform((v) => v.toLowerCase())
        .pipe(z.enum(['all', 'none', 'list'], { error: platformsMessage }))
        .optional(),
      platformlist: z
        .array(section({ architecture: text.optional(), os: text.optional() }), { error: 'must be a list of platforms' })
        .optional(),
    }).optional(),
  }).optional(),
}).optional();

export type ValidationConfig = NonNullable<z.output<typeof validationSchema>>;
