import { isValidRegistry } from '../client/reference.js';

/** Where a sync endpoint's registry is, as the client takes it. */
export interface RegistryAddress {
  /** `host[:port]`. */
  registry: string;
  /** Plain HTTP instead of HTTPS. */
  insecure: boolean;
}

/**
 * Reads a sync endpoint's `url`: `http://host:port` (plain HTTP), `https://host:port`, or a bare
 * `host:port`, which is HTTPS unless `insecure` asks for plain HTTP (as the CLI's --insecure). A
 * path is refused: a registry's API is always at `/v2/` of its origin.
 */
export function parseRegistryUrl(url: string, insecure: boolean): RegistryAddress & { problem?: string } {
  const scheme = /^([a-z]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  let rest = scheme === undefined ? url : url.slice(scheme.length + 3);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const fallback = { registry: rest, insecure: insecure || scheme === 'http' };
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') return { ...fallback, problem: `${JSON.stringify(url)}: the scheme must be http or https` };
  if (scheme === 'https' && insecure) return { ...fallback, problem: `${JSON.stringify(url)}: an https:// url cannot be insecure (plain HTTP); write http:// or drop insecure` };
  if (!isValidRegistry(rest)) return { ...fallback, problem: `${JSON.stringify(url)} is not a registry address (http[s]://host[:port], no path)` };
  return fallback;
}
