import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { run, type Diagnostics, type LogSource, type RunResult } from './run.js';

/** A daemon this test run started, with its own root, state and socket under a temp dir. */
export interface Daemon extends LogSource {
  readonly socket: string;
  /** Stops the daemon (SIGTERM, then SIGKILL); safe to call twice. */
  stop(): Promise<void>;
}

const readyTimeoutMs = 30_000;

/** Starts a daemon process with its output in logFile; stop() ends it and waits for its exit. */
function spawnDaemon(file: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = {}) {
  writeFileSync(logFile, '');
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const append = (chunk: Buffer | string) => {
    try {
      appendFileSync(logFile, chunk);
    } catch {
      // the test's directory is already gone (output while shutting down)
    }
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  child.on('error', (error) => append(`\n[spawn error] ${error.message}\n`));
  return child;
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. True if it had to be killed. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return false;
  const exited = once(child, 'exit');
  let killed = false;
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
  return killed;
}

async function waitFor(what: string, child: ChildProcess, logFile: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  while (!(await ready())) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${readFileSync(logFile, 'utf8')}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} was not ready within ${readyTimeoutMs} ms:\n${readFileSync(logFile, 'utf8')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * containerd with its own root, state and gRPC socket under dir and the CRI plugin off (it would
 * want a CNI setup). Use it through `ctr -a <socket>`.
 */
export async function startContainerd(dir: string): Promise<Daemon> {
  await mkdir(dir, { recursive: true });
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  const logFile = join(dir, 'containerd.log');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '',
    ].join('\n'),
  );
  const child = spawnDaemon('containerd', ['--config', config], logFile);
  const daemon: Daemon = {
    name: `containerd (${logFile})`,
    socket,
    text: () => readFileSync(logFile, 'utf8'),
    stop: async () => {
      await stopChild(child, 10_000);
    },
  };
  try {
    await waitFor('containerd', child, logFile, async () => {
      const { code } = await run('ctr', ['-a', socket, 'version'], { allowFailure: true, timeoutMs: 5_000 });
      return code === 0;
    });
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  return daemon;
}

export interface Dockerd extends Daemon {
  /** Environment for the docker CLI: DOCKER_HOST on the daemon's socket, DOCKER_CONFIG of its own. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * dockerd (20.10) with the daemon.json the client notes describe: vfs storage, no iptables, no
 * bridge, and its own data-root, exec-root, pidfile and unix socket under dir. It starts its own
 * containerd under exec-root; that one is killed as well if dockerd has to be killed. `env` is
 * added to the daemon's environment (HTTPS_PROXY, for example).
 */
export async function startDockerd(dir: string, env: NodeJS.ProcessEnv = {}): Promise<Dockerd> {
  await mkdir(join(dir, 'config'), { recursive: true });
  const socket = join(dir, 'docker.sock');
  const execRoot = join(dir, 'exec');
  const daemonJson = join(dir, 'daemon.json');
  const logFile = join(dir, 'dockerd.log');
  writeFileSync(
    daemonJson,
    JSON.stringify(
      {
        'storage-driver': 'vfs',
        iptables: false,
        ip6tables: false,
        bridge: 'none',
        'ip-masq': false,
        'data-root': join(dir, 'data'),
        'exec-root': execRoot,
        pidfile: join(dir, 'docker.pid'),
        hosts: [`unix://${socket}`],
      },
      null,
      2,
    ),
  );
  const child = spawnDaemon('dockerd', ['--config-file', daemonJson], logFile, env);
  const stop = async () => {
    const containerdPid = Number(await readFile(join(execRoot, 'containerd/containerd.pid'), 'utf8').catch(() => ''));
    // dockerd stops the containerd it started; only if dockerd had to be killed is that one orphaned.
    if ((await stopChild(child, 20_000)) && containerdPid > 0) {
      try {
        process.kill(containerdPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const daemon: Dockerd = {
    name: `dockerd (${logFile})`,
    socket,
    env: { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'config') },
    text: () => readFileSync(logFile, 'utf8'),
    stop,
  };
  try {
    await waitFor('dockerd', child, logFile, () => ping(socket));
  } catch (error) {
    await stop();
    throw error;
  }
  return daemon;
}

/** True when the Docker API on the unix socket answers `GET /_ping` with 200. */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * A dockerd for the enclosing `describe`: started before its tests with its log watched by
 * `diag`, stopped after them even when one fails. Returns `docker`, a runner bound to it.
 * `dir` is read when the daemon starts (work folders are made in a `before` of the file).
 */
export function dockerdForSuite(dir: () => string, diag: Diagnostics): (...args: string[]) => Promise<RunResult> {
  let dockerd: Dockerd | undefined;
  before(
    async () => {
      dockerd = await startDockerd(dir());
      diag.watch(dockerd);
    },
    { timeout: 120_000 },
  );
  after(
    async () => {
      if (!dockerd) return;
      diag.unwatch(dockerd);
      await dockerd.stop();
    },
    { timeout: 60_000 },
  );
  return (...args) => diag.run('docker', args, { env: dockerd!.env, timeoutMs: 90_000 });
}
