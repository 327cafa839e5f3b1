/**
 * The rows of an image's configuration the image page shows, as text. A field that is empty in
 * the config has no row.
 */
import type { ImageConfig } from './api-types.js';

export type ConfigField = 'entrypoint' | 'cmd' | 'env' | 'labels' | 'ports' | 'user' | 'workdir';

export interface ConfigRow {
  field: ConfigField;
  label: string;
  /** One line per value (environment variables, labels, ports); a command is one line. */
  lines: string[];
}

export function configRows(config: ImageConfig | undefined): ConfigRow[] {
  const c = config?.config ?? {};
  const rows: ConfigRow[] = [
    { field: 'entrypoint', label: 'Entrypoint', lines: c.Entrypoint?.length ? [commandLine(c.Entrypoint)] : [] },
    { field: 'cmd', label: 'Command', lines: c.Cmd?.length ? [commandLine(c.Cmd)] : [] },
    { field: 'env', label: 'Environment', lines: c.Env ?? [] },
    { field: 'labels', label: 'Labels', lines: Object.entries(c.Labels ?? {}).map(([key, value]) => `${key}=${value}`) },
    { field: 'ports', label: 'Exposed ports', lines: Object.keys(c.ExposedPorts ?? {}) },
    { field: 'user', label: 'User', lines: c.User ? [c.User] : [] },
    { field: 'workdir', label: 'Working directory', lines: c.WorkingDir ? [c.WorkingDir] : [] },
  ];
  return rows.filter((row) => row.lines.length > 0);
}

/** `["sh","-c","echo hi"]` → `sh -c 'echo hi'` (quoted only where a shell would need it). */
export function commandLine(args: readonly string[]): string {
  return args.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}
