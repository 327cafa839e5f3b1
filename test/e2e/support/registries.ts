import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../../helpers/registry-server.js';
import type { LogSource } from './run.js';

export type RegistryKind = 'berth' | 'docker-registry';

/** A registry process on 127.0.0.1 serving a filesystem storage directory, deletes enabled. */
export interface RunningRegistry extends LogSource {
  readonly kind: RegistryKind;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** 127.0.0.1:PORT, as clients take it */
  readonly hostPort: string;
  readonly storageDir: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** The config both registries read: the same keys, so either can serve the other's directory. */
export function registryConfig(storageDir: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/**
 * Starts Berth (`bin/berth.js serve`) or the reference `docker-registry serve` as a separate
 * process on a free port, and keeps its whole output in a log file under workDir (the reference
 * registry's log is noisy; failure messages show the tail). Retries on another port if the one
 * picked was taken in between. `extraConfig` lines are appended to the config (top-level
 * sections such as `auth:` or `proxy:`).
 */
export async function startRegistry(
  kind: RegistryKind,
  storageDir: string,
  workDir: string,
  extraConfig: readonly string[] = [],
): Promise<RunningRegistry> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let spawned: SpawnedRegistry;
    try {
      spawned = await spawnRegistry(kind, [registryConfig(storageDir, port), ...extraConfig, ''].join('\n'), workDir, port);
    } catch (error) {
      lastError = error;
      if (/address already in use/i.test(String(error))) continue;
      throw error;
    }
    const logFile = join(workDir, `${kind}-${port}.log`);
    writeFileSync(logFile, spawned.output());
    const append = (chunk: Buffer) => {
      try {
        appendFileSync(logFile, chunk);
      } catch {
        // the test's directory is already gone (output while shutting down)
      }
    };
    spawned.process.stdout!.on('data', append);
    spawned.process.stderr!.on('data', append);
    let stopping: Promise<void> | undefined;
    return {
      kind,
      name: `${kind} (${spawned.hostPort}, ${logFile})`,
      url: spawned.url,
      hostPort: spawned.hostPort,
      storageDir,
      logFile,
      text: () => readFileSync(logFile, 'utf8'),
      stop: () => (stopping ??= spawned.stop()),
    };
  }
  throw lastError;
}

export interface LoggedRequest {
  readonly method: string;
  /** The request target as sent, query included. */
  readonly path: string;
  readonly status: number;
  /** When the answer ended (pino's epoch milliseconds) and how long the request took. */
  readonly time: number;
  readonly ms: number;
}

/** The requests in a Berth process's access log (pino JSON lines, one per request). */
export function berthRequests(registry: RunningRegistry): LoggedRequest[] {
  if (registry.kind !== 'berth') throw new Error(`berthRequests reads Berth's log, not ${registry.kind}'s`);
  return registry
    .text()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LoggedRequest & { msg?: string })
    .filter((entry) => entry.msg === 'request');
}
