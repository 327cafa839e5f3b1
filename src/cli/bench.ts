import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { BenchOptions, MixWeights, UploadMode } from '../bench/bench-options.js';
import type { BenchResult } from '../bench/bench-result.js';
import { clientTransport } from '../bench/client-transport.js';
import { htmlReport } from '../bench/html-report.js';
import { runBench } from '../bench/run-bench.js';
import { scenarios } from '../bench/scenarios/index.js';
import { scenarioNames, type ScenarioName } from '../bench/scenarios/scenario.js';
import { textReport } from '../bench/text-report.js';
import { parseDuration, parseSize, UnitParseError } from '../units.js';
import { isValidRegistry } from '../client/reference.js';
import { clientOptions, withConnectionFlags, type ConnectionFlags } from './client-options.js';
import { UserCommandError } from './user.js';

/** Where the command writes; the tests capture it. */
export interface BenchIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Called with 1 when the run had errors (the command then exits non-zero). */
  exit(code: number): void;
}

const processIo: BenchIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => void (process.exitCode = code),
};

/** What commander hands the action (flags not given are undefined). */
interface RawOptions extends ConnectionFlags {
  registry: string;
  prefix?: string;
  concurrency?: number;
  count?: number;
  duration?: number;
  layers?: number;
  size?: number;
  sharedBase?: number;
  head?: boolean;
  repos?: number;
  tags?: number;
  page?: number;
  mode?: UploadMode;
  chunk?: number;
  mix?: MixWeights;
  json?: boolean;
  report?: string;
}

/** Defaults every scenario starts from; each scenario overrides some (scenarios/*.ts). */
const commonDefaults: Omit<BenchOptions, 'registry' | 'prefix'> = {
  concurrency: 8,
  layers: 3,
  size: 256 << 10,
  sharedBase: 0,
  head: false,
  repos: 100,
  tags: 100,
  page: 100,
  mode: 'monolithic',
  chunk: 8 << 20,
  mix: { push: 1, pull: 3, get: 3, head: 2, tags: 1 },
};

/**
 * `berth bench SCENARIO --registry HOST:PORT [flags]`: load-tests any registry through the same
 * client `berth push/pull` use. Prints a summary (or `--json`), writes `--report FILE` (HTML),
 * and exits 1 when any request got an unexpected answer.
 */
export function benchCommand(io: BenchIo = processIo): Command {
  return withConnectionFlags(new Command('bench'))
    .description('load-test a registry (any registry): throughput and latency per request type; every unexpected answer is an error')
    .addArgument(
      new Command().createArgument('<scenario>', scenarioNames.map((name) => `${name}: ${scenarios[name].description}`).join('\n')).choices(scenarioNames),
    )
    .requiredOption('--registry <host:port>', 'the registry to load, e.g. 127.0.0.1:5000')
    .option('--prefix <name>', 'repositories are created under this name (default: bench/<random>, so runs never collide)')
    .option('--concurrency <n>', 'operations kept in flight, each worker on its own connection', positive('--concurrency'))
    .option('--count <n>', 'stop after this many operations (images, requests, listings, blobs)', positive('--count'))
    .option('--duration <time>', 'stop after this long, e.g. 10s, 2m (with --count: whichever comes first)', unit('--duration', parseDuration))
    .option('--layers <n>', 'layers per image', positive('--layers'))
    .option('--size <size>', 'layer size (images) or blob size (push-blob), e.g. 256KiB, 8MiB', unit('--size', parseSize))
    .option('--shared-base <n>', 'the first N layers are the same in every image (a common base image)', natural('--shared-base'))
    .option('--head', 'manifest-get: send HEAD instead of GET')
    .option('--repos <n>', 'list: repositories to create', natural('--repos'))
    .option('--tags <n>', 'list: tags to create', natural('--tags'))
    .option('--page <n>', 'page size asked for with ?n= in listings', positive('--page'))
    .addOption(new Option('--mode <mode>', 'push-blob: upload mode').choices(['monolithic', 'chunked', 'post']))
    .option('--chunk <size>', 'push-blob --mode chunked: PATCH size', unit('--chunk', parseSize))
    .option('--mix <weights>', 'mixed: weights, e.g. push=1,pull=3,get=3,head=2,tags=1', parseMix)
    .option('--json', 'print one JSON document (stable field names) instead of the summary')
    .option('--report <file>', 'also write a self-contained HTML report (charts) to this file')
    .addHelpText('after', '\nExamples:\n  berth bench manifest-get --registry 127.0.0.1:5000 --insecure --duration 5s\n  berth bench push-images --registry reg.example:443 --count 200 --layers 3 --size 256KiB --shared-base 1 --concurrency 16 --report run.html')
    .action(async (scenario: ScenarioName, raw: RawOptions) => {
      io.exit(await benchAction(scenario, raw, io));
    });
}

/** Runs the command once; the exit code (0 clean, 1 any error). */
async function benchAction(scenario: ScenarioName, raw: RawOptions, io: BenchIo): Promise<number> {
  if (!isValidRegistry(raw.registry)) throw new UserCommandError(`--registry: expected host:port, not ${JSON.stringify(raw.registry)}`);
  const options = benchOptions(scenario, raw);
  const transport = clientTransport(raw.registry, { ...(await clientOptions(raw.registry, raw)), connections: options.concurrency });
  let result: BenchResult;
  try {
    result = await runBench(scenario, options, transport, (line) => io.stderr(`${line}\n`));
  } finally {
    await transport.close();
  }
  io.stdout(raw.json ? `${JSON.stringify(result, null, 2)}\n` : textReport(result));
  if (raw.report) {
    await writeFile(raw.report, htmlReport(result));
    io.stderr(`report written to ${raw.report}\n`);
  }
  if (!result.valid && raw.json) {
    // The summary (with its errors) went to stdout only without --json.
    io.stderr(`berth bench: ${result.errors.count} error(s); the first:\n${result.errors.first.map((m) => `  ${m}\n`).join('')}`);
  }
  return result.valid ? 0 : 1;
}

/**
 * The options of a run: the flags given, over the scenario's defaults, over the common ones.
 * A bound given on the command line replaces the scenario's default bounds (`--count 500` on
 * manifest-get means 500 requests, not "500 or 10 s").
 */
export function benchOptions(scenario: ScenarioName, raw: Partial<RawOptions> & { registry: string }): BenchOptions {
  const defaults = { ...commonDefaults, ...scenarios[scenario].defaults };
  const bounded = raw.count !== undefined || raw.duration !== undefined;
  const options: BenchOptions = {
    ...defaults,
    registry: raw.registry,
    prefix: raw.prefix ?? `bench/${randomBytes(4).toString('hex')}`,
    count: bounded ? raw.count : defaults.count,
    durationMs: bounded ? raw.duration : defaults.durationMs,
  };
  for (const key of ['concurrency', 'layers', 'size', 'sharedBase', 'head', 'repos', 'tags', 'page', 'mode', 'chunk', 'mix'] as const) {
    if (raw[key] !== undefined) (options as unknown as Record<string, unknown>)[key] = raw[key];
  }
  if (options.sharedBase > options.layers) throw new UserCommandError(`--shared-base ${options.sharedBase} is more than --layers ${options.layers}`);
  if (scenario === 'mixed' && options.count === undefined && options.durationMs === undefined) options.durationMs = 20_000;
  return options;
}

function positive(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError(`${flag}: expected a whole number of at least 1`);
    return n;
  };
}

function natural(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag}: expected a whole number`);
    return Number(value);
  };
}

function unit(flag: string, parse: (text: string) => number): (value: string) => number {
  return (value) => {
    try {
      const n = parse(value);
      if (n <= 0) throw new UnitParseError(`must be above 0`);
      return n;
    } catch (error) {
      if (error instanceof UnitParseError) throw new InvalidArgumentError(`${flag}: ${error.message}`);
      throw error;
    }
  };
}

/** `push=1,pull=3` → weights; kinds not named weigh 0. */
export function parseMix(value: string): MixWeights {
  const weights: MixWeights = { push: 0, pull: 0, get: 0, head: 0, tags: 0 };
  for (const part of value.split(',')) {
    const match = /^\s*(push|pull|get|head|tags)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!match) throw new InvalidArgumentError(`--mix: expected kind=weight pairs of push, pull, get, head, tags, not ${JSON.stringify(part)}`);
    weights[match[1] as keyof MixWeights] = Number(match[2]);
  }
  if (Object.values(weights).every((w) => w === 0)) throw new InvalidArgumentError('--mix: at least one weight must be above 0');
  return weights;
}
