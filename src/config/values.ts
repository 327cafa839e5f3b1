import { z } from 'zod';

/**
 * The value types Distribution's config.yml uses, written once so that every section reads
 * `5000`, `"true"` or `1h30m` the same way. The loader, the REGISTRY_* overrides and the
 * effective-config printer recognise some of them (text, durations, nullable sections) through
 * the sets below, so these are the only places such schemas are created.
 */
const textInputs = new WeakSet<object>();
const durationInputs = new WeakSet<object>();
const nullableInputs = new WeakSet<object>();

/** A string. YAML and environment overrides may give a number (`addr: 5000`, `version: 0.1`). */
const textInput = z.union([z.string(), z.number()], { error: 'must be a string' });
textInputs.add(textInput);
export const text = textInput.transform(String);

/** A boolean; `"true"` and `"false"` are accepted too, as Distribution's driver parameters do. */
export const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
  error: 'must be true or false',
});

/** A whole number. */
export const int = z.number({ error: 'must be an integer' }).int({ error: 'must be an integer' });

/** A list of strings. */
export const stringList = z.array(text, { error: 'must be a list of strings' });

/** A free-form mapping (a middleware's options, log fields, GCS credentials): keys are not checked. */
export const freeMap = z.record(z.string(), z.unknown(), { error: 'must be a mapping' });

/**
 * HTTP headers as Distribution writes them: header name → list of values. A single string is
 * accepted for one value.
 */
export const headerMap = z.record(
  z.string(),
  z.union([z.array(text), text], { error: 'must be a list of strings' }).transform((v) => (Array.isArray(v) ? v : [v])),
  { error: 'must be a mapping of header names to lists of values' },
);

const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const durationPart = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * A Go duration, read into milliseconds (the unit of Node's timers; may be fractional below 1ms).
 * Text is Go's `time.ParseDuration` syntax: a sign, then one or more number+unit pairs (`300ms`,
 * `5m`, `1h30m`, `1.5h`; units ns, us, µs, ms, s, m, h); `0` needs no unit. A YAML integer is a
 * number of nanoseconds, because that is what Go's YAML decoder makes of it, and a Distribution
 * config must mean the same thing in Berth (`draintimeout: 60` is 60ns in both).
 */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value / 1e6 : undefined;
  let rest = value;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let nanoseconds = 0;
  durationPart.lastIndex = 0;
  while (durationPart.lastIndex < rest.length) {
    const match = durationPart.exec(rest);
    if (!match) return undefined;
    nanoseconds += Number(match[1]) * units[match[2]!]!;
  }
  return (sign * nanoseconds) / 1e6;
}

/** Milliseconds back into Go's syntax (`5400000` → `1h30m`), for printing the effective config. */
export function formatDuration(milliseconds: number): string {
  let ns = Math.round(Math.abs(milliseconds) * 1e6);
  if (ns === 0) return '0s';
  let out = milliseconds < 0 ? '-' : '';
  for (const [unit, size] of [['h', 3600e9], ['m', 60e9], ['s', 1e9], ['ms', 1e6], ['us', 1e3], ['ns', 1]] as const) {
    const count = Math.floor(ns / size);
    if (count > 0) out += `${count}${unit}`;
    ns -= count * size;
  }
  return out;
}

const durationMessage = 'must be a duration such as 300ms, 5m or 1h30m (an integer is a number of nanoseconds)';
const durationInput = z.union([z.string(), z.number()], { error: durationMessage });
durationInputs.add(durationInput);
/** See parseDuration. Use `.prefault('5m')` for a default, so the default is read like input. */
export const duration = durationInput.transform((value, ctx) => {
  const milliseconds = parseDuration(value);
  if (milliseconds === undefined) {
    ctx.issues.push({ code: 'custom', message: durationMessage, input: value });
    return z.NEVER;
  }
  return milliseconds;
});

/**
 * A mapping of keys. YAML writes an empty section as null (`inmemory:` with nothing under it),
 * which means the same as `{}`. Add `.prefault({})` for a section that is always there with its
 * defaults, or `.optional()` for one that is absent unless written.
 */
export function section<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const object = z.object(shape).strict();
  nullableInputs.add(object);
  return z.preprocess((value) => (value === null ? {} : value), object);
}

/** Marks a schema whose input may also be null (for the JSON Schema). */
export function acceptsNull<T extends z.ZodType>(schema: T): T {
  nullableInputs.add(schema);
  return schema;
}

type Def = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
};

export function definition(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

const wrappers = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

/**
 * The schemas a value passes through before reaching its core type, outermost first: wrappers
 * (optional, default, ...) and the input side of pipes (the object behind a preprocess, the
 * union in front of a transform).
 */
export function layers(schema: z.ZodType): z.ZodType[] {
  const out: z.ZodType[] = [];
  let current: z.ZodType | undefined = schema;
  while (current) {
    out.push(current);
    const def = definition(current);
    if (wrappers.has(def.type)) current = def.innerType;
    else if (def.type === 'pipe') current = definition(def.in!).type === 'transform' ? def.out : def.in;
    else current = undefined;
  }
  return out;
}

/** The core type of a schema: what is left when wrappers and pipes are taken off. */
export function core(schema: z.ZodType): z.ZodType {
  return layers(schema).at(-1)!;
}

/** True for keys whose value is text, where an environment override is taken as written. */
export function isText(schema: z.ZodType): boolean {
  const all = layers(schema);
  const type = definition(all.at(-1)!).type;
  return all.some((layer) => textInputs.has(layer)) || type === 'string' || type === 'enum';
}

export function isDuration(schema: z.ZodType): boolean {
  return layers(schema).some((layer) => durationInputs.has(layer));
}

export function isNullable(schema: object): boolean {
  return nullableInputs.has(schema);
}

/** The schema of `key` below `schema` (an object's property, a map's value, a list's element). */
export function childSchema(schema: z.ZodType, key: string): z.ZodType | undefined {
  const def = definition(core(schema));
  switch (def.type) {
    case 'object':
      return Object.hasOwn(def.shape!, key) ? def.shape![key] : undefined;
    case 'record':
      return def.valueType;
    case 'array':
      return /^\d+$/.test(key) ? def.element : undefined;
    case 'union':
      for (const option of def.options!) {
        const child = childSchema(option, key);
        if (child) return child;
      }
      return undefined;
    case 'unknown':
    case 'any':
      return z.unknown();
    default:
      return undefined;
  }
}

/** The property names of an object schema (empty for anything else). */
export function propertyNames(schema: z.ZodType): string[] {
  const def = definition(core(schema));
  if (def.type === 'object') return Object.keys(def.shape!);
  if (def.type === 'union') return def.options!.flatMap(propertyNames);
  return [];
}
