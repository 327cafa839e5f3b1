import { z } from 'zod';
import { flag, section, text } from '../values.js';

/** `compatibility` (2.8; removed in 3.0): Docker schema 1 manifests. */
export const compatibilitySchema = section({
  schema1: section({ signingkeyfile: text.optional(), enabled: flag.optional() }).optional(),
}).optional();

export type CompatibilityConfig = NonNullable<z.output<typeof compatibilitySchema>>;
