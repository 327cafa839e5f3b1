import { z } from 'zod';
import { int, section } from '../values.js';

/** `tags` (3.x): the most tags one page of /v2/<name>/tags/list may hold. */
export const tagsSchema = section({ maxtags: int.optional() }).optional();

export type TagsConfig = NonNullable<z.output<typeof tagsSchema>>;
