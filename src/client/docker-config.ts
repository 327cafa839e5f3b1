import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Registry credentials in the file docker and skopeo read and write: `config.json` in
 * `$DOCKER_CONFIG` (default `~/.docker`), `{"auths": {"host:port": {"auth": base64("user:pass")}}}`.
 * Credential helpers (`credsStore`, `credHelpers`) and `identitytoken` (an OAuth refresh token
 * that needs a different token flow) are not used: such entries read as no credentials.
 */

export interface Credentials {
  username: string;
  password: string;
}

export interface ConfigFileOptions {
  /** The file to use instead of `$DOCKER_CONFIG/config.json` (as skopeo's `--authfile`). */
  file?: string;
}

/** The config file exists but is not JSON of the expected shape; it is left untouched. */
export class DockerConfigError extends Error {
  readonly file: string;

  constructor(file: string, reason: string, cause?: unknown) {
    super(`${file}: ${reason}`, { cause });
    this.name = 'DockerConfigError';
    this.file = file;
  }
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigFile(): string {
  return join(process.env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  [key: string]: unknown;
}

type ConfigJson = Record<string, unknown> & { auths?: Record<string, AuthEntry> };

/** The credentials stored for `registry` (`host:port`), or undefined when there are none. */
export async function readCredentials(registry: string, options: ConfigFileOptions = {}): Promise<Credentials | undefined> {
  const file = options.file ?? dockerConfigFile();
  const config = await load(file);
  const entry = findEntry(config?.auths, registry);
  if (entry === undefined) return undefined;
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new DockerConfigError(file, `auths["${registry}"].auth is not base64 of "user:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/**
 * Stores credentials for `registry`, keeping every other key of the file (other registries,
 * docker's own settings) as it was. The file is replaced atomically (a temporary file renamed
 * over it) with mode 0600; a missing directory is created with mode 0700.
 */
export async function saveCredentials(registry: string, username: string, password: string, options: ConfigFileOptions = {}): Promise<void> {
  const file = options.file ?? dockerConfigFile();
  const config: ConfigJson = (await load(file)) ?? {};
  const auths = (config.auths ??= {});
  // Replace an entry written under another form of the same registry (`https://host`).
  const key = findKey(auths, registry) ?? registry;
  // Keep what else the entry holds (docker's `email`...), but not plain fields the `auth` replaces.
  const entry: AuthEntry = { ...auths[key], auth: Buffer.from(`${username}:${password}`).toString('base64') };
  delete entry.username;
  delete entry.password;
  auths[key] = entry;
  await store(file, config);
}

/** Removes the credentials of `registry`; false when there were none (the file is then untouched). */
export async function removeCredentials(registry: string, options: ConfigFileOptions = {}): Promise<boolean> {
  const file = options.file ?? dockerConfigFile();
  const config = await load(file);
  const key = findKey(config?.auths, registry);
  if (config === undefined || key === undefined) return false;
  delete config.auths![key];
  await store(file, config);
  return true;
}

async function load(file: string): Promise<ConfigJson | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DockerConfigError(file, 'not valid JSON', error);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new DockerConfigError(file, 'not a JSON object');
  const auths = (parsed as ConfigJson).auths;
  if (auths !== undefined && (typeof auths !== 'object' || auths === null || Array.isArray(auths))) {
    throw new DockerConfigError(file, '"auths" is not an object');
  }
  return parsed as ConfigJson;
}

async function store(file: string, config: ConfigJson): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
    // writeFile's mode only applies to a new file, and the umask may have narrowed it: set it.
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * The key under which `registry` is stored. docker writes the bare `host:port`, but older
 * clients wrote `https://host:port` or `https://host/v1/`: those match too.
 */
function findKey(auths: Record<string, AuthEntry> | undefined, registry: string): string | undefined {
  if (auths === undefined) return undefined;
  if (Object.hasOwn(auths, registry)) return registry;
  return Object.keys(auths).find((key) => key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '') === registry);
}

function findEntry(auths: Record<string, AuthEntry> | undefined, registry: string): AuthEntry | undefined {
  const key = findKey(auths, registry);
  return key === undefined ? undefined : auths![key];
}
