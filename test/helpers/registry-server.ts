import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { createRegistryServer } from '../../src/http/server.js';
import { Registry } from '../../src/registry/registry.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';

export const repoRoot = resolve(import.meta.dirname, '../..');

export interface TestRegistry {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** host:port, as clients take it */
  hostPort: string;
  /** Storage root directory (filesystem driver) */
  root: string;
  registry: Registry;
  close(): Promise<void>;
}

/**
 * Starts Berth in this process on 127.0.0.1 and an ephemeral port, on a fresh temporary
 * storage directory (or the given driver). For HTTP-level tests.
 *
 * With `root`, the filesystem driver serves that existing directory instead, and `close()` leaves
 * it in place: a second server on the same root is a restarted registry, and the caller owns it.
 */
export async function startTestRegistry(
  options: { deleteEnabled?: boolean; driver?: StorageDriver; host?: string; root?: string } = {},
): Promise<TestRegistry> {
  const root = options.root ?? (await mkdtemp(join(tmpdir(), 'berth-test-')));
  const driver = options.driver ?? new FilesystemDriver(root);
  const registry = new Registry(driver, { deleteEnabled: options.deleteEnabled ?? true });
  const server = createRegistryServer({
    registry,
    log: pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' }),
    host: options.host,
    accessLog: false,
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    root,
    registry,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      if (options.root === undefined) await rm(root, { recursive: true, force: true });
    },
  };
}

export interface SpawnedRegistry {
  url: string;
  hostPort: string;
  process: ChildProcess;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs a registry command as a separate process (Berth's own `bin/berth.js serve`, or the
 * reference `docker-registry serve`) and waits until `/v2/` answers. The command gets the config
 * file path as its last argument.
 */
export async function spawnRegistry(
  command: 'berth' | 'docker-registry',
  configYaml: string,
  workDir: string,
  port: number,
  env: NodeJS.ProcessEnv = {},
): Promise<SpawnedRegistry> {
  const configFile = join(workDir, `${command}-${port}.yml`);
  await writeFile(configFile, configYaml);
  const [file, args] =
    command === 'berth'
      ? [process.execPath, [join(repoRoot, 'bin/berth.js'), 'serve', configFile]]
      : ['docker-registry', ['serve', configFile]];
  const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}:\n${output}`);
    try {
      const response = await fetch(`${url}/v2/`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${command} did not answer on ${url} within 15 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    hostPort: `127.0.0.1:${port}`,
    process: child,
    output: () => output,
    stop: async () => {
      // A process ended by a signal has signalCode set and exitCode null.
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}

/** A free TCP port on 127.0.0.1 (for processes that need the port in their config). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
