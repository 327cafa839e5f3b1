import { z } from 'zod';
import { defaultLimits } from '../../registry/limits.js';
import { int, section } from '../values.js';

/**
 * `tags` (3.x): the most tags one page of /v2/<name>/tags/list holds. A larger `n`, or none on
 * a repository with more tags, gets this many and a `Link` to the rest.
 */
export const tagsSchema = section({
  maxtags: int.min(1, { error: 'must be an integer of at least 1' }).default(defaultLimits.tagsPage),
}).prefault({});

export type TagsConfig = z.output<typeof tagsSchema>;
