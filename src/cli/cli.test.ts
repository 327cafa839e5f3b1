import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { berthBin, ensureBuilt } from '../../test/helpers/compiled-cli.js';

/**
 * The command line as a user meets it: the compiled `bin/berth.js` run as a separate process.
 * The CLI runs from dist/, so a dist older than src/ is rebuilt first (else these tests would
 * check yesterday's code).
 */
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const bin = berthBin;
const processTimeout = 20_000;

let directory: string;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  await ensureBuilt();
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('berth CLI', { timeout: 120_000 }, () => {
  test('--help explains the program and lists serve', async () => {
    const { code, stdout } = await berth(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /Usage: berth/);
    assert.match(stdout, /container image registry/);
    assert.match(stdout, /serve \[options\] \[config\]/);
  });

  test('serve --help explains the config argument and the REGISTRY_* overrides', async () => {
    const { code, stdout } = await berth(['serve', '--help']);
    assert.equal(code, 0);
    assert.match(stdout, /Usage: berth serve/);
    assert.match(stdout, /config\.yml/);
    assert.match(stdout, /REGISTRY_/);
  });

  test('serve with an unknown key: one error line naming the key, exit 1', async () => {
    const file = await writeConfig('bad.yml', `version: 0.1\nstorage:\n  inmemory:\nhttp:\n  addr: 127.0.0.1:0\n  bogus: true\n`);
    const { code, stdout, stderr } = await berth(['serve', file]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
    assert.match(lines[0]!, /^berth: configuration error: http\.bogus: unknown configuration key$/);
  });

  test('serve with a missing file: a clear message naming the file, exit 1', async () => {
    const missing = join(directory, 'no-such-config.yml');
    const { code, stderr } = await berth(['serve', missing]);
    assert.equal(code, 1);
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
    assert.match(lines[0]!, /^berth: configuration error: cannot read config file /);
    assert.ok(lines[0]!.includes(missing));
  });

  test('serve with a port out of range: a configuration error, not a crash', async () => {
    const file = await writeConfig('port.yml', `version: 0.1\nstorage:\n  inmemory:\nhttp:\n  addr: 127.0.0.1:70000\n`);
    const { code, stderr } = await berth(['serve', file]);
    assert.equal(code, 1);
    assert.match(stderr.trimEnd(), /^berth: configuration error: http\.addr: port 70000 is out of range/);
  });

  test('serve answers GET /v2/ and stops cleanly on SIGTERM', async () => {
    const root = join(directory, 'data');
    const file = await writeConfig(
      'good.yml',
      `version: 0.1
storage:
  filesystem:
    rootdirectory: ${root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
  secret: not-implemented-yet
`,
    );
    const child = spawn(process.execPath, [bin, 'serve', file], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const output = collect(child);
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const killer = setTimeout(() => child.kill('SIGKILL'), processTimeout);
    try {
      const listening = await waitForLine(child, output, (line) => line.msg === 'berth is listening');
      assert.equal(listening.address, '127.0.0.1');
      assert.equal(listening.storage, 'filesystem');
      const port = listening.port as number;
      assert.ok(port > 0);
      assert.ok(
        output.lines().some((line) => line.level === 40 && /http\.secret: not implemented/.test(String(line.msg))),
        'the unimplemented key was logged as a warning',
      );

      const response = await fetch(`http://127.0.0.1:${port}/v2/`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
      assert.deepEqual(await response.json(), {});

      child.kill('SIGTERM');
      const [code, signal] = await exited;
      assert.equal(signal, null, `killed by ${signal}:\n${output.text()}`);
      assert.equal(code, 0, output.text());
      assert.ok(output.lines().some((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM'));
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  });
});

async function writeConfig(name: string, yaml: string): Promise<string> {
  const file = join(directory, name);
  await writeFile(file, yaml);
  return file;
}

/** The environment without REGISTRY_* variables, which would override the test's config. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_')));
}

function berth(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [bin, ...args], processTimeout);
}

/** Runs a command to its end, killing it after `timeout` ms so a hang fails the test instead of the run. */
async function run(
  command: string,
  args: string[],
  timeout: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeout);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr };
}

type LogLine = Record<string, unknown>;

/** Everything a child writes, with its stdout read as pino's JSON lines. */
function collect(child: ChildProcess): { text: () => string; lines: () => LogLine[] } {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    text: () => `${stdout}${stderr}`,
    lines: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as LogLine),
  };
}

/** Resolves with the first log line that matches, or rejects when the process exits first. */
async function waitForLine(
  child: ChildProcess,
  output: ReturnType<typeof collect>,
  matches: (line: LogLine) => boolean,
): Promise<LogLine> {
  for (;;) {
    const found = output.lines().find(matches);
    if (found) return found;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`berth exited (${child.exitCode ?? child.signalCode}) before logging the line:\n${output.text()}`);
    }
    const done = new AbortController();
    await Promise.race([
      once(child.stdout!, 'data', { signal: done.signal }),
      once(child, 'exit', { signal: done.signal }),
    ]).finally(() => done.abort());
  }
}
