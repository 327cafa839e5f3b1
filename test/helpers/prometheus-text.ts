/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests that read
 * `/metrics`: any line it does not understand is an error, so a malformed exposition fails the
 * test instead of passing unread.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`, `x_count` for a histogram `x`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: Sample[];
}

export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ExpositionError';
  }
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const types: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Families by name. Each sample must belong to a family declared by a `# TYPE` line before it. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const help = new Map<string, string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    const number = index + 1;
    if (line === '') return;
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!match) {
        if (/^# (HELP|TYPE)\b/.test(line)) throw new ExpositionError(number, `malformed ${line}`);
        return; // a plain comment
      }
      const [, keyword, name, rest] = match as unknown as [string, string, string, string];
      if (!metricName.test(name)) throw new ExpositionError(number, `bad metric name ${name}`);
      if (keyword === 'HELP') {
        help.set(name, rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'));
        const family = families.get(name);
        if (family) families.set(name, { ...family, help: help.get(name)! });
        return;
      }
      if (!types.has(rest)) throw new ExpositionError(number, `unknown type ${rest}`);
      if (families.has(name)) throw new ExpositionError(number, `second TYPE for ${name}`);
      families.set(name, { name, type: rest as MetricType, help: help.get(name) ?? '', samples: [] });
      return;
    }
    const sample = parseSample(line, number);
    const family = familyOf(families, sample.name);
    if (!family) throw new ExpositionError(number, `sample ${sample.name} before its TYPE line`);
    family.samples.push(sample);
  });
  return families;
}

function familyOf(families: Map<string, MetricFamily>, sampleName: string): MetricFamily | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  const suffix = /_(bucket|sum|count)$/.exec(sampleName);
  if (!suffix) return undefined;
  const family = families.get(sampleName.slice(0, -suffix[0].length));
  return family && (family.type === 'histogram' || family.type === 'summary') ? family : undefined;
}

function parseSample(line: string, number: number): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new ExpositionError(number, `expected a metric name: ${line}`);
  const name = nameMatch[0];
  let position = name.length;
  const labels: Record<string, string> = {};
  if (line[position] === '{') {
    position++;
    while (line[position] !== '}') {
      const labelMatch = /^([^=]+)="/.exec(line.slice(position));
      if (!labelMatch || !labelName.test(labelMatch[1]!)) throw new ExpositionError(number, `bad label at column ${position + 1}`);
      position += labelMatch[0].length;
      let value = '';
      for (;;) {
        const char = line[position];
        if (char === undefined) throw new ExpositionError(number, 'unterminated label value');
        position++;
        if (char === '"') break;
        if (char === '\\') {
          const escaped = line[position++];
          if (escaped === 'n') value += '\n';
          else if (escaped === '\\' || escaped === '"') value += escaped;
          else throw new ExpositionError(number, `bad escape \\${escaped}`);
        } else value += char;
      }
      if (labelMatch[1]! in labels) throw new ExpositionError(number, `label ${labelMatch[1]} twice`);
      labels[labelMatch[1]!] = value;
      if (line[position] === ',') position++;
      else if (line[position] !== '}') throw new ExpositionError(number, `expected , or } at column ${position + 1}`);
    }
    position++;
  }
  const rest = line.slice(position);
  const valueMatch = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!valueMatch) throw new ExpositionError(number, `expected " value [timestamp]": ${JSON.stringify(rest)}`);
  return { name, labels, value: parseValue(valueMatch[1]!, number) };
}

function parseValue(text: string, number: number): number {
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes `Nan`).
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new ExpositionError(number, `bad value ${text}`);
  return Number(text);
}

/** The sum of a family's samples named `sampleName` whose labels include `labels`. */
export function sumOf(
  families: Map<string, MetricFamily>,
  family: string,
  labels: Readonly<Record<string, string>> = {},
  sampleName = family,
): number {
  const found = families.get(family);
  if (!found) throw new Error(`no metric family ${family}`);
  return found.samples
    .filter((s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}
