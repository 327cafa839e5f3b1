import { request as undiciRequest, type Dispatcher } from 'undici';
import { RegistryClient, type ClientOptions } from '../client/registry-client.js';
import type { BenchTransport } from './transport.js';

/**
 * The bench's transport: the same RegistryClient that `berth push/pull` and the tests use
 * (TLS, Basic and Bearer auth, one connection pool), through its one-request-as-is method so
 * every request is timed and checked by the bench itself.
 */
export function clientTransport(registry: string, options: ClientOptions): BenchTransport & { client: RegistryClient } {
  const client = new RegistryClient(registry, { userAgent: 'berth-bench', ...options });
  return {
    client,
    request: async (method, path, request = {}) => {
      if (!/^https?:\/\//.test(path)) return await client.request(method as Dispatcher.HttpMethod, path, request);
      const url = new URL(path);
      if (url.origin === client.baseUrl) return await client.request(method as Dispatcher.HttpMethod, `${url.pathname}${url.search}`, request);
      // Another origin (storage a blob GET was redirected to): no registry credentials go there.
      const answer = await undiciRequest(url, { method: method as Dispatcher.HttpMethod, headers: request.headers, body: request.body });
      return { status: answer.statusCode, headers: answer.headers, body: answer.body };
    },
    close: () => client.close(),
  };
}
