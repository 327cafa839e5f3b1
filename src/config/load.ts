import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { embeddedDefaultConfig } from './embedded-default.js';
import { applyEnvironment } from './env.js';
import { configSchema, isSupported, unimplementedKeys, type Config } from './schema.js';
import { authProvider } from './sections/auth.js';
import { expandStorageShorthand, storageDriver } from './sections/storage.js';

/** A configuration that cannot be used; the message names the key (`storage.filesystem: ...`). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  /** One line per key that is recognised but not implemented, or an ignored variable. */
  warnings: string[];
  /** Where the configuration came from, for the startup log. */
  source: string;
}

/**
 * Reads the YAML file (or the embedded default), applies `REGISTRY_*` overrides from env and
 * validates the result once. Keys Berth does not implement yet are checked like the others and
 * reported as warnings; a storage driver or auth provider it does not implement is an error,
 * since ignoring it would serve other data or drop authentication.
 */
export async function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, options: ParseOptions = {}): Promise<LoadedConfig> {
  let text = embeddedDefaultConfig;
  if (file !== undefined) {
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
    }
  }
  const source = file ?? 'embedded default';
  return { ...parseConfig(text, env, file ?? 'embedded config', options), source };
}

export interface ParseOptions {
  /**
   * For commands that use no storage (`berth sync`): a file without a `storage` section is taken
   * as if it named the in-memory driver, so a file with only `sync` jobs needs nothing else.
   */
  storageOptional?: boolean;
}

/** loadConfig without the file: `text` is the YAML, `name` names it in messages. */
export function parseConfig(text: string, env: NodeJS.ProcessEnv, name = 'config', options: ParseOptions = {}): { config: Config; warnings: string[] } {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`${name} is not valid YAML: ${(error as Error).message}`);
  }
  if (!isRecord(raw)) throw new ConfigError(`${name} must be a YAML mapping`);
  if (raw.storage !== undefined) raw.storage = expandStorageShorthand(raw.storage);
  else if (options.storageOptional) raw.storage = { inmemory: {} };
  const warnings: string[] = [];
  applyEnvironment(raw, env, warnings);
  // reportInput: without it zod leaves `input` undefined on every issue, and describeIssue could
  // not tell a missing key from one of the wrong type.
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ConfigError(describeIssues(result.error.issues));
  const config = result.data;
  const driver = `storage.${storageDriver(config.storage)}`;
  if (!isSupported(driver)) throw new ConfigError(`${driver}: this storage driver is not implemented by this version of Berth`);
  if (config.auth) {
    const provider = `auth.${authProvider(config.auth)}`;
    if (!isSupported(provider)) throw new ConfigError(`${provider}: this authentication provider is not implemented by this version of Berth`);
  }
  for (const key of unimplementedKeys(raw)) warnings.push(`${key}: not implemented by this version of Berth; ignored`);
  return { config, warnings };
}

/** One line for the first problem, preferring an unknown key (a misspelling explains the rest). */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const first = issues.find((issue) => issue.code === 'unrecognized_keys') ?? issues[0]!;
  return describeIssue(first, []);
}

function describeIssue(issue: z.core.$ZodIssue, prefix: PropertyKey[]): string {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') return `${[...path, issue.keys[0]!].join('.')}: unknown configuration key`;
  if (issue.code === 'invalid_union' && issue.input !== undefined) {
    // The value had the shape of one alternative (a list, a mapping) and failed inside it: report
    // that failure, with its own path, rather than "matches no alternative".
    const inside = issue.errors.filter((errors) => errors.length > 0 && errors.every((e) => e.path.length > 0));
    if (inside.length === 1) return describeIssue(inside[0]![0]!, path);
  }
  const absent = (issue.code === 'invalid_type' || issue.code === 'invalid_union') && issue.input === undefined;
  const message = absent ? 'required' : issue.message;
  return path.length > 0 ? `${path.join('.')}: ${message}` : message;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
