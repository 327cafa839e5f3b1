import cliProgress from 'cli-progress';
import type { Descriptor } from '../image/descriptor.js';
import type { TransferEvents, TransferResult } from '../image/transfer.js';
import { humanSize } from '../units.js';

/**
 * How a push, pull or copy reports progress: a bar per blob on a terminal (bytes, rate, ETA),
 * one plain line per finished blob elsewhere (CI logs keep no carriage returns), nothing with
 * --json (the caller prints one JSON document at the end).
 */
export interface TransferDisplay {
  readonly events: TransferEvents;
  /** Stops the bars; call once the transfer ended, whether it succeeded or not. */
  stop(): void;
}

export type DisplayMode = 'terminal' | 'plain' | 'quiet';

/** The mode for this process's stdout and flags. */
export function displayMode(json: boolean | undefined, stream: NodeJS.WriteStream = process.stderr): DisplayMode {
  if (json) return 'quiet';
  return stream.isTTY ? 'terminal' : 'plain';
}

export function transferDisplay(mode: DisplayMode, stream: NodeJS.WriteStream = process.stderr): TransferDisplay {
  if (mode === 'quiet') return { events: {}, stop: () => {} };
  if (mode === 'plain') return plainDisplay(stream);
  return barDisplay(stream);
}

function shortDigest(descriptor: Descriptor): string {
  return descriptor.digest.replace(/^sha256:/, '').slice(0, 12);
}

function plainDisplay(stream: NodeJS.WriteStream): TransferDisplay {
  const started = new Map<string, number>();
  return {
    events: {
      blobStarted: (d) => started.set(d.digest, performance.now()),
      blobDone: (d, outcome) => {
        if (outcome !== 'copied') {
          stream.write(`${shortDigest(d)}: ${outcome === 'exists' ? 'already there' : 'mounted'} (${humanSize(d.size)})\n`);
          return;
        }
        const seconds = (performance.now() - (started.get(d.digest) ?? performance.now())) / 1000;
        const rate = seconds > 0 ? ` at ${humanSize(d.size / seconds)}/s` : '';
        stream.write(`${shortDigest(d)}: copied ${humanSize(d.size)} in ${seconds.toFixed(1)} s${rate}\n`);
      },
      manifestDone: (d) => stream.write(`${shortDigest(d)}: manifest ${d.mediaType}\n`),
    },
    stop: () => {},
  };
}

function barDisplay(stream: NodeJS.WriteStream): TransferDisplay {
  const bars = new cliProgress.MultiBar(
    {
      stream,
      format: '{digest} [{bar}] {percentage}% {done}/{size} {rate} ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const active = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  const payload = (d: Descriptor, written: number, started: number) => {
    const seconds = (performance.now() - started) / 1000;
    return { digest: shortDigest(d), done: humanSize(written), size: humanSize(d.size), rate: seconds > 0 ? `${humanSize(written / seconds)}/s` : '' };
  };
  return {
    events: {
      blobStarted: (d) => {
        const started = performance.now();
        active.set(d.digest, { bar: bars.create(Math.max(d.size, 1), 0, payload(d, 0, started)), started });
      },
      blobProgress: (d, written) => {
        const entry = active.get(d.digest);
        entry?.bar.update(written, payload(d, written, entry.started));
      },
      blobDone: (d, outcome) => {
        const entry = active.get(d.digest);
        if (entry) entry.bar.update(Math.max(d.size, 1), payload(d, d.size, entry.started));
        else bars.log(`${shortDigest(d)}: ${outcome === 'exists' ? 'already there' : 'mounted'} (${humanSize(d.size)})\n`);
      },
    },
    stop: () => bars.stop(),
  };
}

/** The closing lines of a transfer, for people. */
export function transferSummary(verb: string, target: string, result: TransferResult, seconds: number): string {
  const rate = seconds > 0 ? `, ${humanSize(result.copiedBytes / seconds)}/s` : '';
  return (
    `${verb} ${target}\n` +
    `  digest: ${result.root.digest} (${result.root.mediaType})\n` +
    `  blobs: ${result.copiedBlobs} copied (${humanSize(result.copiedBytes)}), ${result.mountedBlobs} mounted, ${result.existingBlobs} already there; ` +
    `manifests: ${result.manifests}; ${seconds.toFixed(1)} s${rate}\n`
  );
}
