import { BoundedCache } from '../../registry/bounded-cache.js';
import type { Registry } from '../../registry/registry.js';
import { configCreated, readImageConfig, type ConfigRead } from './image-config.js';
import { platformText, type DescriptorView } from './manifest-view.js';
import { approximateBytes, SingleFlightCache, type Outcome } from './single-flight-cache.js';

/** What a summary takes from an image config: its platform (`os/arch[/variant]`) and its `created` time. */
export interface ConfigFacts {
  readonly platform?: string;
  readonly created: string | null;
}

/** Bytes of facts kept per registry (about 300 each: tens of thousands of configs). */
const factsBytesKept = 8 * 1024 * 1024;

/**
 * Facts of image configs, each config read once: images of many tags and index children share
 * configs, and a config may be up to 1 MiB. Keyed by the whole descriptor, since whether a
 * config is read at all depends on the media type and size a manifest gives it.
 */
export class ConfigFactsCache {
  private readonly facts = new SingleFlightCache(new BoundedCache<ConfigFacts>(factsBytesKept, approximateBytes, 'ui_config_facts'));

  constructor(private readonly registry: Registry) {}

  /** The config's facts; not final when its content is missing from storage (it may be pushed later). */
  async of(config: DescriptorView): Promise<Outcome<ConfigFacts>> {
    const outcome = await this.facts.get(keyOf(config), async () => factsOf(await readImageConfig(this.registry, config)));
    return outcome ?? { value: { created: null }, final: false }; // factsOf always has an outcome
  }

  /** Keeps the facts of a config read elsewhere (the image page reads the content anyway), so no summary reads it again. */
  learn(config: DescriptorView, read: ConfigRead): void {
    const outcome = factsOf(read);
    if (outcome.final) this.facts.remember(keyOf(config), outcome.value);
  }
}

function factsOf(read: ConfigRead): Outcome<ConfigFacts> {
  if (read.state !== 'parsed') return { value: { created: null }, final: read.state === 'skipped' };
  const platform = platformText(read.content);
  return { value: { ...(platform ? { platform } : {}), created: configCreated(read.content) }, final: true };
}

function keyOf(config: DescriptorView): string {
  return `${config.digest} ${config.size} ${config.mediaType}`;
}
