import { list } from './list.js';
import { manifestGet } from './manifest-get.js';
import { mixed } from './mixed.js';
import { pullImages } from './pull-images.js';
import { pushBlob } from './push-blob.js';
import { pushImages } from './push-images.js';
import type { Scenario, ScenarioName } from './scenario.js';

/** Every scenario by name: the boundary the CLI and the runner use. */
export const scenarios: Record<ScenarioName, Scenario> = {
  'push-images': pushImages,
  'pull-images': pullImages,
  'manifest-get': manifestGet,
  list,
  mixed,
  'push-blob': pushBlob,
};
