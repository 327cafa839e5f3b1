import { z } from 'zod';
import { defaultLimits } from '../../registry/limits.js';
import { int, section } from '../values.js';

/**
 * `catalog`: the most repositories one page of /v2/_catalog holds, and the page size when the
 * client gives no `n`. A larger `n` gets this many and a `Link` to the rest (Distribution
 * answers 400 instead; the spec lets a registry send fewer than asked, and clients follow Link).
 */
export const catalogSchema = section({
  maxentries: int.min(1, { error: 'must be an integer of at least 1' }).default(defaultLimits.catalogPage),
}).prefault({});

export type CatalogConfig = z.output<typeof catalogSchema>;
