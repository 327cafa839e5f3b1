import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema } from './schema.js';
import { childSchema, core, definition, isText, propertyNames } from './values.js';

type Container = Record<string, unknown> | unknown[];

/**
 * Applies `REGISTRY_*` variables to a raw (parsed YAML) configuration, as Distribution does:
 * the name after `REGISTRY_` is split on `_` and each part matched case-insensitively against
 * the schema's keys (`REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY`). Below a mapping whose keys
 * are free (http.headers, access.groups, a middleware's options) a part names an existing key
 * case-insensitively or else a new key in lower case; below a list, a part is an index (at
 * most the list's length, to append). Values are read as YAML, so `true`, `5000` and flow
 * collections (`[a, b]`, `{devs: [bob]}`) work for keys of those types; for a text key the
 * value is taken as written (`REGISTRY_HTTP_SECRET=0123` stays `0123`). Variables that name no
 * key are ignored with a warning (Kubernetes injects `REGISTRY_PORT_...` for a service called
 * registry); their values never appear in warnings.
 */
export function applyEnvironment(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, warnings: string[]): void {
  const names = Object.keys(env)
    .filter((name) => name.startsWith('REGISTRY_'))
    .sort();
  for (const variable of names) {
    if (!applyVariable(raw, variable.slice('REGISTRY_'.length).split('_'), env[variable] ?? '')) {
      warnings.push(`environment variable ${variable} names no configuration key; ignored`);
    }
  }
}

function applyVariable(raw: Record<string, unknown>, parts: string[], value: string): boolean {
  // Resolve the whole name first, so that a name that fails half-way changes nothing.
  const keys: { key: string; schema: z.ZodType }[] = [];
  let node: unknown = raw;
  let schema: z.ZodType = configSchema;
  for (const part of parts) {
    const key = keyFor(isContainer(node) ? node : {}, schema, part);
    const child = key === undefined ? undefined : childSchema(schema, key);
    if (key === undefined || child === undefined) return false;
    keys.push({ key, schema: child });
    node = isContainer(node) ? getIn(node, key) : undefined;
    schema = child;
  }
  let container: Container = raw;
  for (const { key, schema } of keys.slice(0, -1)) {
    const wantsList = definition(core(schema)).type === 'array';
    let next = getIn(container, key);
    if (!isContainer(next) || Array.isArray(next) !== wantsList) {
      next = wantsList ? [] : {};
      setIn(container, key, next);
    }
    container = next as Container;
  }
  const last = keys.at(-1)!;
  setIn(container, last.key, readValue(value, last.schema));
  return true;
}

/** The key a part of a variable's name stands for here, or undefined when it names none. */
function keyFor(node: Container, schema: z.ZodType, part: string): string | undefined {
  if (part === '') return undefined;
  const type = definition(core(schema)).type;
  if (type === 'object' || type === 'union') {
    return propertyNames(schema).find((name) => name.toLowerCase() === part.toLowerCase());
  }
  if (type === 'array') {
    if (!/^\d+$/.test(part) || Number(part) > (Array.isArray(node) ? node.length : 0)) return undefined;
    return part;
  }
  if (type === 'record' || type === 'unknown' || type === 'any') {
    const existing = Array.isArray(node) ? undefined : Object.keys(node).find((name) => name.toLowerCase() === part.toLowerCase());
    return existing ?? part.toLowerCase();
  }
  return undefined;
}

function readValue(value: string, schema: z.ZodType): unknown {
  let parsed: unknown;
  try {
    parsed = parseYaml(value);
  } catch {
    return value;
  }
  if (isText(schema) && typeof parsed !== 'string') return value;
  return parsed;
}

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

function getIn(node: Container, key: string): unknown {
  return Array.isArray(node) ? node[Number(key)] : node[key];
}

function setIn(node: Container, key: string, value: unknown): void {
  if (Array.isArray(node)) node[Number(key)] = value;
  else node[key] = value;
}
