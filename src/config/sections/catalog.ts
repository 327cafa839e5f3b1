import { z } from 'zod';
import { int, section } from '../values.js';

/** `catalog`: the most repositories one page of /v2/_catalog may hold. */
export const catalogSchema = section({ maxentries: int.optional() }).optional();

export type CatalogConfig = NonNullable<z.output<typeof catalogSchema>>;
