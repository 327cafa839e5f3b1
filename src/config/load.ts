import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { embeddedDefaultConfig } from './embedded-default.js';
import { configKeys, type KeyTree } from './keys.js';
import { configSchema, type Config } from './schema.js';

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
 * Reads the YAML file (or the embedded default), applies `REGISTRY_*` overrides from env, sets
 * aside what is not implemented yet (as warnings) and validates the rest once.
 */
export async function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text = embeddedDefaultConfig;
  if (file !== undefined) {
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
    }
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`${file ?? 'embedded config'} is not valid YAML: ${(error as Error).message}`);
  }
  if (!isRecord(raw)) throw new ConfigError(`${file ?? 'embedded config'} must be a YAML mapping`);
  const warnings: string[] = [];
  applyEnvironment(raw, env, warnings);
  setAsideUnimplemented(raw, configKeys, '', warnings);
  // reportInput: without it zod leaves `input` undefined on every issue, and describeIssue could
  // not tell a missing key from one of the wrong type.
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ConfigError(describeIssue(result.error.issues[0]!));
  return { config: result.data, warnings, source: file ?? 'embedded default' };
}

/**
 * `REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/x` sets storage.filesystem.rootdirectory, as in
 * Distribution: the name after `REGISTRY_` is split on `_` and matched case-insensitively
 * against the key tree. Values are read as YAML scalars (`true`, `5000`). Variables that name
 * no key are ignored with a warning (Kubernetes injects `REGISTRY_PORT_...` for a service
 * called registry).
 */
function applyEnvironment(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, warnings: string[]): void {
  const names = Object.keys(env).filter((n) => n.startsWith('REGISTRY_')).sort();
  for (const variable of names) {
    const keys = variable.slice('REGISTRY_'.length).toLowerCase().split('_');
    if (!namesKey(keys)) {
      warnings.push(`environment variable ${variable} names no configuration key; ignored`);
      continue;
    }
    let node = raw;
    for (const key of keys.slice(0, -1)) {
      if (!isRecord(node[key])) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    const value = env[variable] ?? '';
    let parsed: unknown = value;
    try {
      parsed = parseYaml(value);
    } catch {
      // Not a YAML scalar: keep the text as it is.
    }
    node[keys.at(-1)!] = parsed ?? value;
  }
}

function namesKey(keys: string[]): boolean {
  let tree: KeyTree | true | 'later' = configKeys;
  for (const key of keys) {
    // Below a section Berth does not implement yet (REGISTRY_STORAGE_S3_BUCKET): a real key, which
    // is set aside with a "not implemented" warning rather than called a misspelling.
    if (tree === 'later') return true;
    if (typeof tree !== 'object') return false;
    const next: KeyTree[string] | undefined = tree[key];
    if (next === undefined) return false;
    tree = next;
  }
  return true;
}

function setAsideUnimplemented(node: Record<string, unknown>, tree: KeyTree, prefix: string, warnings: string[]): void {
  for (const key of Object.keys(node)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const known = tree[key];
    if (known === undefined) throw new ConfigError(`${path}: unknown configuration key`);
    if (known === 'later') {
      warnings.push(`${path}: not implemented by this version of Berth; ignored`);
      delete node[key];
    } else if (known !== true && isRecord(node[key])) {
      setAsideUnimplemented(node[key] as Record<string, unknown>, known, path, warnings);
    }
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.join('.');
  const absent = (issue.code === 'invalid_type' || issue.code === 'invalid_union') && issue.input === undefined;
  const message = absent ? 'required' : issue.message;
  return path ? `${path}: ${message}` : message;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
