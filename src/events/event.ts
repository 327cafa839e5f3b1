/**
 * Registry events in the shape of Distribution's notifications (the JSON its webhook receivers
 * already parse): what happened (`action`) to what (`target`), asked by whom (`request`,
 * `actor`), seen by which registry process (`source`).
 */

/** Distribution's media type for a webhook body: `{"events": [...]}`. */
export const eventsEnvelopeMediaType = 'application/vnd.docker.distribution.events.v1+json';

/** The media type Distribution gives blob targets (a layer's real type is only in its manifest). */
export const blobTargetMediaType = 'application/octet-stream';

/**
 * `push`: a manifest stored or a blob upload completed; `pull`: a manifest or blob served to a
 * GET (not HEAD, not a 304); `mount`: a blob linked from another repository; `delete`: a
 * manifest, tag or blob removed from a repository.
 */
export type EventAction = 'push' | 'pull' | 'mount' | 'delete';

export interface EventTarget {
  /** The manifest's media type; `application/octet-stream` for blobs; absent on deletes. */
  readonly mediaType?: string;
  /** Absent only when a tag was deleted (the tag is given instead). */
  readonly digest?: string;
  /** Bytes of the content; absent on deletes. */
  readonly size?: number;
  /** Same as size (Distribution sends both; older receivers read `length`). */
  readonly length?: number;
  /** The repository the action was on (for `mount`: the one the blob was linked into). */
  readonly repository: string;
  /** The API URL of the manifest or blob (for deletes: the one that was deleted). */
  readonly url: string;
  /** The tag a manifest was pushed, pulled or deleted by, when it was by tag. */
  readonly tag?: string;
  /** For `mount`: the repository the blob came from. */
  readonly fromRepository?: string;
}

/** The HTTP request that caused the event. */
export interface EventRequest {
  /** A fresh id for the request that caused the event. */
  readonly id: string;
  /** The client's address, `ip:port`. */
  readonly addr: string;
  /** The `Host` the client asked. */
  readonly host: string;
  /** The HTTP method (`PUT`, `GET`, `POST`, `DELETE`). */
  readonly method: string;
  /** The client's `User-Agent` (empty when it sent none). */
  readonly useragent: string;
}

export interface RegistryEvent {
  /** Unique per event (a UUID): receivers use it to drop a redelivered event. */
  readonly id: string;
  /** RFC 3339 time the event was made. */
  readonly timestamp: string;
  /** What happened (see EventAction). */
  readonly action: EventAction;
  /** The manifest or blob it happened to. */
  readonly target: EventTarget;
  /** The HTTP request that did it. */
  readonly request: EventRequest;
  /** The authenticated user; empty object when anonymous. */
  readonly actor: { readonly name?: string };
  /** This registry process: `addr` is host:port, `instanceID` is fresh per process start. */
  readonly source: { readonly addr: string; readonly instanceID: string };
}

/** What the code that sees an action provides; the notifier adds id, timestamp and source. */
export type EventFacts = Pick<RegistryEvent, 'action' | 'target' | 'request' | 'actor'>;

/** Where handlers send what happened. */
export interface EventPublisher {
  /**
   * Queues the event for every sink whose rules accept it. Never throws and never waits: a
   * slow or dead sink must not slow the request that caused the event.
   */
  publish(facts: EventFacts): void;
}
