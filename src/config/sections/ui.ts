import { z } from 'zod';
import { flag, section } from '../values.js';

/**
 * Berth extension: the web UI at `<http.prefix>/ui/` and the read-only JSON API behind it
 * (`/berth/v1/...`). On by default: a Distribution file has no `ui` section, and a registry
 * moved from `registry:2` gets the UI with nothing to change. `enabled: false` answers 404 on both.
 */
export const uiSchema = section({
  enabled: flag.default(true),
}).prefault({});

export type UiConfig = z.output<typeof uiSchema>;
