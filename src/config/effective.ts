import { stringify } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { childSchema, formatDuration, isDuration, isNullable } from './values.js';

/** What a masked value is printed as. */
export const maskedValue = '<redacted>';

/**
 * The keys that hold secrets, printed as `<redacted>`. `*` stands for any one key or list
 * index. Keys that name a file holding a secret (http.tls.key, auth.tokenserver.signingkey,
 * storage.gcs.keyfile, compatibility.schema1.signingkeyfile) are not secrets themselves and
 * are shown.
 */
export const secretKeys: readonly string[] = [
  'http.secret',
  'storage.s3.secretkey',
  'storage.azure.accountkey',
  'storage.azure.connectionstring',
  'storage.azure.credentials.secret',
  'storage.gcs.credentials.private_key',
  'storage.gcs.credentials.private_key_id',
  'storage.swift.password',
  'storage.swift.secretkey',
  'storage.oss.accesskeysecret',
  'redis.password',
  'redis.sentinelpassword',
  'proxy.password',
  'proxy.upstreams.*.password',
  'sync.*.source.password',
  'sync.*.destination.password',
  'log.hooks.*.options.smtp.password',
  'reporting.bugsnag.apikey',
  'reporting.newrelic.licensekey',
];

/**
 * Mappings whose keys are free (request headers, a middleware's options): their secret entries
 * cannot be listed, so they are recognised by name.
 */
const freeMappings: readonly string[] = ['notifications.endpoints.*.headers', 'health.http.*.headers', 'middleware.*.*.options'];
// Not "key" alone: such options are mostly file paths (cloudfront's privatekey) or ids (keypairid).
const secretName = /authorization|cookie|password|passwd|secret|token|apikey|api-key|credential/i;

/** The configuration as YAML, with defaults filled in, durations in Go's syntax and secrets masked. */
export function effectiveConfigYaml(config: Config): string {
  return stringify(render(config, configSchema, []), { lineWidth: 0 });
}

function render(value: unknown, schema: z.ZodType | undefined, path: string[]): unknown {
  if (matchesAny(secretKeys, path) && value !== undefined && value !== null) return maskedValue;
  if (path.length > 0 && matchesAny(freeMappings, path.slice(0, -1)) && secretName.test(path.at(-1)!)) return maskedValue;
  if (typeof value === 'number' && schema && isDuration(schema)) return formatDuration(value);
  if (Array.isArray(value)) return value.map((item, index) => render(item, schema && childSchema(schema, String(index)), [...path, String(index)]));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      out[key] = render(item, schema && childSchema(schema, key), [...path, key]);
    }
    return out;
  }
  return value;
}

function matchesAny(patterns: readonly string[], path: string[]): boolean {
  return patterns.some((pattern) => {
    const parts = pattern.split('.');
    return parts.length === path.length && parts.every((part, i) => part === '*' || part === path[i]);
  });
}

/**
 * A JSON Schema (draft 2020-12) of the file, input side: what may be written, before defaults
 * and conversions (durations are text or integers here, as in the file).
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, {
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      // An empty section is null in YAML (`inmemory:`), which the schema accepts.
      // (A section with required keys is left as it is: null would fail there.)
      if (!isNullable(zodSchema) || (Array.isArray(jsonSchema.required) && jsonSchema.required.length > 0)) return;
      const inner = { ...jsonSchema };
      for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Record<string, unknown>)[key];
      jsonSchema.anyOf = [inner, { type: 'null' }];
    },
  });
  return {
    ...schema,
    title: 'Berth configuration (Distribution config.yml, version 0.1)',
  };
}
