import { z } from 'zod';
import { section, stringList } from '../values.js';

/** `policy` (3.x): which classes of content repositories accept. */
export const policySchema = section({
  repository: section({ classes: stringList.optional() }).optional(),
}).optional();

export type PolicyConfig = NonNullable<z.output<typeof policySchema>>;
