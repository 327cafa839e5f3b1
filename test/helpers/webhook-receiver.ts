import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegistryEvent } from '../../src/events/event.js';

/** One request the receiver got. */
export interface ReceivedRequest {
  /** The request's Content-Type. */
  readonly contentType: string | undefined;
  /** All its headers, as node:http gives them (lower-case names). */
  readonly headers: IncomingMessage['headers'];
  /** The parsed JSON body. */
  readonly body: unknown;
}

/**
 * A local webhook endpoint for notification tests. It answers `status()` (200 unless changed)
 * and keeps, in arrival order, the events of the requests it answered with a success.
 */
export interface WebhookReceiver {
  /** Where to POST: `http://127.0.0.1:<port>/events`. */
  readonly url: string;
  /** Every request, failed ones included. */
  readonly requests: ReceivedRequest[];
  /** The events of accepted requests (envelopes unpacked), in order. */
  readonly events: RegistryEvent[];
  /** The status the next requests get. */
  status: number;
  /** Resolves when `predicate` holds for the accepted events (checked on each request). */
  waitFor(predicate: (events: readonly RegistryEvent[]) => boolean): Promise<void>;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const waiters: { predicate: (events: readonly RegistryEvent[]) => boolean; resolve: () => void }[] = [];
  const receiver = {
    url: '',
    requests: [] as ReceivedRequest[],
    events: [] as RegistryEvent[],
    status: 200,
    waitFor(predicate: (events: readonly RegistryEvent[]) => boolean): Promise<void> {
      return new Promise<void>((resolve) => {
        if (predicate(receiver.events)) resolve();
        else waiters.push({ predicate, resolve });
      });
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      const status = receiver.status;
      receiver.requests.push({ contentType: req.headers['content-type'], headers: req.headers, body });
      if (status < 300) {
        const envelope = body as { events?: RegistryEvent[]; data?: RegistryEvent };
        receiver.events.push(...(envelope.events ?? (envelope.data ? [envelope.data] : [])));
      }
      res.writeHead(status).end();
      for (const waiter of [...waiters]) {
        if (waiter.predicate(receiver.events)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return receiver;
}
