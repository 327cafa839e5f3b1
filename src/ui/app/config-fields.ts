/**
 * The rows of an image's configuration and build history the image page shows, as text. A field
 * that is empty in the config has no row. Configs are not checked on push, so every field is
 * checked here: a value of an unexpected shape is left out rather than breaking the page.
 */
import type { ImageConfig } from './api-types.js';

export type ConfigField = 'entrypoint' | 'cmd' | 'env' | 'labels' | 'ports' | 'user' | 'workdir';

export interface ConfigRow {
  field: ConfigField;
  label: string;
  /** One line per value (environment variables, labels, ports); a command is one line. */
  lines: string[];
}

export interface HistoryEntry {
  created?: string;
  /** The build step, without the `/bin/sh -c #(nop)` prefix of metadata-only steps. */
  step: string;
  emptyLayer: boolean;
}

export function configRows(config: ImageConfig | undefined): ConfigRow[] {
  const c = record(config?.config);
  const entrypoint = stringList(c.Entrypoint);
  const cmd = stringList(c.Cmd);
  const rows: ConfigRow[] = [
    { field: 'entrypoint', label: 'Entrypoint', lines: entrypoint.length ? [commandLine(entrypoint)] : [] },
    { field: 'cmd', label: 'Command', lines: cmd.length ? [commandLine(cmd)] : [] },
    { field: 'env', label: 'Environment', lines: stringList(c.Env) },
    { field: 'labels', label: 'Labels', lines: Object.entries(record(c.Labels)).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`) },
    { field: 'ports', label: 'Exposed ports', lines: Object.keys(record(c.ExposedPorts)) },
    { field: 'user', label: 'User', lines: nonEmptyText(c.User) },
    { field: 'workdir', label: 'Working directory', lines: nonEmptyText(c.WorkingDir) },
  ];
  return rows.filter((row) => row.lines.length > 0);
}

/** The config's `history`, each entry's fields checked; [] when it is not a list. */
export function historyEntries(config: ImageConfig | undefined): HistoryEntry[] {
  const history = config?.history;
  if (!Array.isArray(history)) return [];
  return history.map((value: unknown) => {
    const entry = record(value);
    const createdBy = typeof entry.created_by === 'string' ? entry.created_by.replace(/^\/bin\/sh -c #\(nop\)\s+/, '') : '';
    return {
      created: typeof entry.created === 'string' ? entry.created : undefined,
      step: createdBy || (typeof entry.comment === 'string' ? entry.comment : ''),
      emptyLayer: entry.empty_layer === true,
    };
  });
}

/** `["sh","-c","echo hi"]` → `sh -c 'echo hi'` (quoted only where a shell would need it). */
export function commandLine(args: readonly string[]): string {
  return args.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A list of strings as docker writes it; a lone string (some builders write `"Cmd": "echo hi"`) is a list of one. */
function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : [];
}

function nonEmptyText(value: unknown): string[] {
  return typeof value === 'string' && value !== '' ? [value] : [];
}

/** A JSON object's fields, or none when the value is not an object (null, a list, a string). */
function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
