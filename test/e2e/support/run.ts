import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';

/** Something whose recent output helps explain a failure: a registry, a daemon. */
export interface LogSource {
  readonly name: string;
  /** Everything logged so far (the failure message shows only the tail). */
  text(): string;
}

export interface RunOptions {
  /** Kill the command (and everything it started) after this long. Default 60 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  /** Return the result of a non-zero exit instead of throwing (a timeout still throws). */
  allowFailure?: boolean;
}

export interface RunResult {
  readonly command: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

const defaultTimeoutMs = 60_000;
/** Output kept per stream; ctr redraws its progress table, which adds up. */
const maxOutputChars = 1_000_000;
const tailLines = 40;
const explainedMark = Symbol('berth.e2e.explained');

/** The last `lines` lines of a text, with a note when lines were left out. */
export function tail(text: string, lines = tailLines): string {
  const all = text.trimEnd().split('\n');
  if (all.length <= lines) return all.join('\n');
  return [`[... ${all.length - lines} earlier lines]`, ...all.slice(-lines)].join('\n');
}

/** Quotes an argument list so a failure message shows a command one can paste into a shell. */
export function shellLine(file: string, args: readonly string[]): string {
  return [file, ...args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/**
 * Runs a command to completion with a time limit. The command gets its own process group, so a
 * timeout kills whatever it started too. Throws on a non-zero exit (unless allowFailure), on a
 * timeout and when the command cannot start, with the command line, its exit status and the
 * tails of stdout and stderr in the message.
 */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const command = shellLine(file, args);
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const started = Date.now();
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString()).slice(-maxOutputChars)));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-maxOutputChars)));
  if (options.input !== undefined) child.stdin!.end(options.input);

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, timeoutMs);
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  const result: RunResult = { command, ...outcome, stdout, stderr, ms: Date.now() - started };
  if (outcome.error) throw commandError(`could not start: ${outcome.error.message}`, result, timeoutMs);
  if (timedOut) throw commandError(`timed out after ${timeoutMs} ms and was killed`, result, timeoutMs);
  if (outcome.code !== 0 && !options.allowFailure) {
    const status = outcome.signal ? `was killed by ${outcome.signal}` : `exited with ${outcome.code}`;
    throw commandError(`${status} after ${result.ms} ms`, result, timeoutMs);
  }
  return result;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function commandError(what: string, result: RunResult, timeoutMs: number): Error {
  return new Error(
    [
      `command ${what} (limit ${timeoutMs} ms):`,
      `  ${result.command}`,
      section('stdout', result.stdout),
      section('stderr', result.stderr),
    ].join('\n'),
  );
}

function section(title: string, text: string): string {
  return `--- ${title} ---\n${text.trim() ? tail(text) : '(empty)'}`;
}

/**
 * The log sources of a test file, and the glue that puts their tails into every failure message:
 * a failed command run through `run`, and any error or assertion thrown by a test body wrapped
 * with `explained`.
 */
export class Diagnostics {
  private readonly sources: LogSource[] = [];

  /** Shows source's log in failure messages; with a test context, only until that test ends. */
  watch(source: LogSource, t?: TestContext): void {
    this.sources.push(source);
    if (t) defer(t, () => this.unwatch(source));
  }

  unwatch(source: LogSource): void {
    const i = this.sources.indexOf(source);
    if (i >= 0) this.sources.splice(i, 1);
  }

  /** The tails of every watched log, as a block for a failure message. */
  describe(): string {
    return this.sources
      .map((source) => {
        let text: string;
        try {
          text = source.text();
        } catch (error) {
          text = `(log unreadable: ${(error as Error).message})`;
        }
        return section(`${source.name} log`, text);
      })
      .join('\n');
  }

  /** `run`, with the watched logs added to the failure message. */
  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    try {
      return await run(file, args, options);
    } catch (error) {
      throw this.explain(error);
    }
  }

  /** Wraps a test body so that whatever it throws carries the watched logs. */
  explained<A extends unknown[]>(body: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
    return async (...args: A) => {
      try {
        await body(...args);
      } catch (error) {
        throw this.explain(error);
      }
    };
  }

  private explain(error: unknown): unknown {
    if (!(error instanceof Error) || explainedMark in error) return error;
    const logs = this.describe();
    if (logs) {
      // Reporters print the stack, which holds the message as it was when first formatted.
      const { message, stack } = error;
      error.message = `${message}\n${logs}`;
      if (stack?.includes(message)) error.stack = stack.replace(message, error.message);
    }
    Object.defineProperty(error, explainedMark, { value: true });
    return error;
  }
}

const cleanupStacks = new WeakMap<TestContext, (() => unknown)[]>();

/**
 * Registers cleanup work for the end of test t (pass or fail). Unlike separate `t.after` hooks,
 * cleanups run last-registered first, so a process stops before the directory it writes to is
 * removed; each runs even if an earlier one failed.
 */
export function defer(t: TestContext, cleanup: () => unknown): void {
  let stack = cleanupStacks.get(t);
  if (!stack) {
    const created: (() => unknown)[] = [];
    stack = created;
    cleanupStacks.set(t, created);
    t.after(async () => {
      const failures: unknown[] = [];
      for (const step of created.reverse()) {
        try {
          await step();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    });
  }
  stack.push(cleanup);
}
