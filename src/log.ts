import { destination, pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** `log.formatter`: how each record is written to stdout. */
export type LogFormatter = 'text' | 'json' | 'logstash';

/** How the process logger writes, beside its level. */
export interface LogFormatOptions {
  /**
   * `json` (also when unset): pino's JSON lines (`level` as a number, `time` in epoch ms, `msg`).
   * `logstash`: JSON with Logstash's names (`@timestamp` ISO 8601, `@version` "1", `message`,
   * `level` as a name). `text`: one human line per record (see formatTextLine).
   */
  formatter?: LogFormatter;
  /** `log.fields`: added to every record, under their own names. */
  fields?: Readonly<Record<string, unknown>>;
  /** Where lines go; by default stdout, written synchronously. Tests pass a collecting stream. */
  destination?: DestinationStream;
}

/**
 * Paths pino replaces with `[Redacted]` in any record that carries them: credentials never reach
 * a log line even when a whole request or header object is logged by mistake.
 */
const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  '*.password',
  '*.secret',
  'password',
  'secret',
];

/**
 * The process logger, on stdout. Every format writes synchronously (pino's own sync destination):
 * no worker-thread transport, so the last lines before an exit are never lost.
 */
export function createLogger(level: string, options: LogFormatOptions = {}): Logger {
  const base = { service: 'berth', ...options.fields };
  const common: LoggerOptions = { level, base, redact: redactedPaths };
  const stdout = options.destination ?? destination({ dest: 1, sync: true });
  switch (options.formatter) {
    case 'logstash':
      return pino(
        {
          ...common,
          base: { '@version': '1', ...base },
          messageKey: 'message',
          timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
          formatters: { level: (label) => ({ level: label }) },
        },
        stdout,
      );
    case 'text':
      return pino({ ...common, formatters: { level: (label) => ({ level: label }) } }, textDestination(stdout));
    default:
      return pino(common, stdout);
  }
}

/**
 * Turns each JSON line pino makes into a text line. Pino has no text output of its own outside a
 * transport (a worker thread, which can drop lines at exit), so the JSON is reformatted here; log
 * records are few and small, so parsing them again costs little.
 */
function textDestination(out: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      out.write(formatTextLine(line));
    },
  };
}

/** Fields every record has, written in the line's fixed part rather than as key=value. */
const fixedFields = new Set(['time', 'level', 'msg', 'service', 'pid', 'hostname']);

/**
 * One pino JSON record as a text line: `2026-01-02T03:04:05.678Z INFO  message key=value ...`.
 * Values with spaces, quotes or `=` are quoted (JSON string syntax); objects are written as JSON.
 * `service` is left out unless `log.fields` changed it: every line would say `berth`.
 */
export function formatTextLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString() : String(record.time ?? '');
  const level = String(record.level ?? '').toUpperCase().padEnd(5);
  let line = `${time} ${level} ${String(record.msg ?? '')}`;
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || (fixedFields.has(key) && !(key === 'service' && value !== 'berth'))) continue;
    line += ` ${key}=${textValue(value)}`;
  }
  return `${line}\n`;
}

function textValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
