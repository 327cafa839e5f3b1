import { Agent } from 'undici';
import type { RegistryEvent } from './event.js';
import { encodeEvents, maxEventsPerMessage, type EventFormat } from './event-format.js';
import type { EventSink } from './event-sink.js';

export interface WebhookOptions {
  /** The endpoint's name (logs, metric labels). */
  readonly name: string;
  /** Where events are POSTed. */
  readonly url: string;
  /** Sent with every request (e.g. `Authorization`). */
  readonly headers?: Readonly<Record<string, readonly string[]>>;
  /** Per request; a request that takes longer counts as a failure. */
  readonly timeoutMs: number;
  /** The body: Distribution's envelope (batched) or one CloudEvent per request. */
  readonly format: EventFormat;
}

/** The endpoint answered with a status that is not a success. */
export class WebhookStatusError extends Error {
  /** The HTTP status the endpoint answered. */
  constructor(readonly status: number) {
    super(`the endpoint answered ${status}`);
    this.name = 'WebhookStatusError';
  }
}

/**
 * POSTs events to a URL. As in Distribution, any 2xx or 3xx answer is a delivery (redirects are
 * not followed: a receiver that moves must be reconfigured); anything else, a network error or
 * the timeout is a failure.
 */
export class WebhookSink implements EventSink {
  readonly name: string;
  readonly maxBatch: number;
  private readonly headers: Record<string, string | string[]>;
  /**
   * Its own keep-alive connection (one sender per endpoint). undici's request rather than fetch:
   * fetch's extra layers cost several times the CPU per event, taken from the requests being served.
   */
  private readonly agent = new Agent({ connections: 1, pipelining: 1 });
  private readonly target: { origin: string; path: string };

  constructor(private readonly options: WebhookOptions) {
    this.name = options.name;
    this.maxBatch = maxEventsPerMessage(options.format);
    const url = new URL(options.url);
    this.target = { origin: url.origin, path: `${url.pathname}${url.search}` };
    this.headers = {};
    for (const [name, values] of Object.entries(options.headers ?? {})) {
      if (name.toLowerCase() !== 'content-type') this.headers[name] = [...values];
    }
  }

  async write(events: readonly RegistryEvent[], signal: AbortSignal): Promise<void> {
    const { contentType, body } = encodeEvents(events, this.options.format);
    const response = await this.agent.request({
      origin: this.target.origin,
      path: this.target.path,
      method: 'POST',
      headers: { ...this.headers, 'content-type': contentType },
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
    });
    // The body is not used, but reading it lets the connection be reused.
    await response.body.dump().catch(() => undefined);
    if (response.statusCode < 200 || response.statusCode >= 400) throw new WebhookStatusError(response.statusCode);
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}

