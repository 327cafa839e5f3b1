import { z } from 'zod';
import { flag, section, text } from '../values.js';

/** `reporting` (2.8; removed in 3.0): error and performance reporting services. */
export const reportingSchema = section({
  bugsnag: section({ apikey: text, releasestage: text.optional(), endpoint: text.optional() }).optional(),
  newrelic: section({ licensekey: text, name: text.optional(), verbose: flag.optional() }).optional(),
}).optional();

export type ReportingConfig = NonNullable<z.output<typeof reportingSchema>>;
