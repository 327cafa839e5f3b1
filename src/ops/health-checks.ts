import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import type { HealthConfig } from '../config/sections/health.js';
import type { StorageDriver } from '../storage/driver.js';
import type { HealthCheck } from './health-monitor.js';
import { StorageProbe } from './storage-probe.js';

/** Distribution's defaults: a check every 10 s; HTTP and TCP checks give up after 1 s. */
const defaultIntervalMs = 10_000;
const defaultTimeoutMs = 1_000;

/** A configured check failed; the message is what `/debug/health` shows for it. */
export class HealthCheckError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HealthCheckError';
  }
}

/**
 * The checks the `health` section asks for, named as Distribution names them: `storagedriver_<name>`,
 * the file path, the URI, the address.
 */
export function healthChecks(health: HealthConfig | undefined, driver: StorageDriver): HealthCheck[] {
  const checks: HealthCheck[] = [];
  if (health?.storagedriver?.enabled) {
    const probe = new StorageProbe(driver);
    checks.push({
      name: `storagedriver_${driver.name}`,
      intervalMs: health.storagedriver.interval ?? defaultIntervalMs,
      threshold: health.storagedriver.threshold ?? 0,
      run: () => probe.check(),
    });
  }
  for (const file of health?.file ?? []) {
    checks.push({
      name: file.file,
      intervalMs: file.interval ?? defaultIntervalMs,
      threshold: file.threshold ?? 0,
      run: () => fileAbsent(file.file),
    });
  }
  for (const http of health?.http ?? []) {
    checks.push({
      name: http.uri,
      intervalMs: http.interval ?? defaultIntervalMs,
      threshold: http.threshold ?? 0,
      run: (signal) => httpAnswers(http.uri, http.statuscode ?? 200, http.headers ?? {}, http.timeout ?? defaultTimeoutMs, signal),
    });
  }
  for (const tcp of health?.tcp ?? []) {
    checks.push({
      name: tcp.addr,
      intervalMs: tcp.interval ?? defaultIntervalMs,
      threshold: tcp.threshold ?? 0,
      run: (signal) => tcpAccepts(tcp.addr, tcp.timeout ?? defaultTimeoutMs, signal),
    });
  }
  return checks;
}

/** `health.file`: as in Distribution, the check fails while the file exists (an operator's switch to drain a node). */
async function fileAbsent(path: string): Promise<void> {
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new HealthCheckError('file exists');
}

/** `health.http`: a HEAD request (as Distribution sends) must answer `statuscode`. */
async function httpAnswers(
  uri: string,
  statusCode: number,
  headers: Readonly<Record<string, readonly string[]>>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  const request = new Headers();
  for (const [name, values] of Object.entries(headers)) for (const value of values) request.append(name, value);
  let response: Response;
  try {
    response = await fetch(uri, { method: 'HEAD', headers: request, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
  } catch (error) {
    throw new HealthCheckError(`HEAD ${uri} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  await response.body?.cancel();
  if (response.status !== statusCode) throw new HealthCheckError(`downstream service returned unexpected status: ${response.status}`);
}

/** `health.tcp`: a connection to `addr` (`host:port`) must open within the timeout. */
async function tcpAccepts(addr: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const colon = addr.lastIndexOf(':');
  if (colon < 0) throw new HealthCheckError(`${addr}: expected host:port`);
  const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = Number(addr.slice(colon + 1));
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs, signal });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new HealthCheckError(`connection to ${addr} timed out`));
    });
    socket.once('error', (error) => reject(new HealthCheckError(`connection to ${addr} failed: ${error.message}`, { cause: error })));
  });
}
