import type { EventAction, RegistryEvent } from './event.js';

/** An endpoint's `ignoredmediatypes` and `ignore` rules. */
export interface EventRules {
  /** `ignoredmediatypes` and `ignore.mediatypes` together: events whose target has one of these types are not sent. */
  readonly ignoredMediaTypes?: readonly string[];
  /** `ignore.actions`: events with one of these actions are not sent. */
  readonly ignoredActions?: readonly string[];
}

/** A test for the events an endpoint wants; undefined when it wants them all (nothing to run per event). */
export function eventFilter(rules: EventRules): ((event: RegistryEvent) => boolean) | undefined {
  const mediaTypes = new Set(rules.ignoredMediaTypes ?? []);
  const actions = new Set<string>(rules.ignoredActions ?? []);
  if (mediaTypes.size === 0 && actions.size === 0) return undefined;
  return (event) =>
    !actions.has(event.action satisfies EventAction) &&
    !(event.target.mediaType !== undefined && mediaTypes.has(event.target.mediaType));
}
