import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { checkUserName, hashPassword, HtpasswdError, parseHtpasswd, updateHtpasswd } from '../auth/htpasswd.js';
import { ConfigError, loadConfig } from '../config/load.js';

interface FileOptions {
  file?: string;
  config?: string;
}

/** A refusal the user can act on (printed without a stack). */
export class UserCommandError extends Error {
  override readonly name = 'UserCommandError';
}

/**
 * The htpasswd file to manage: `--file`, else the config's `auth.htpasswd.path`, else its
 * `auth.tokenserver.htpasswd`.
 */
export async function htpasswdPath(options: FileOptions): Promise<string> {
  if (options.file) return options.file;
  if (!options.config) throw new UserCommandError('name the htpasswd file with --file, or the registry config with --config');
  const { config } = await loadConfig(options.config);
  const auth = (config as { auth?: { htpasswd?: { path?: string }; tokenserver?: { htpasswd?: string } } }).auth;
  const path = auth?.htpasswd?.path ?? auth?.tokenserver?.htpasswd;
  if (!path) throw new ConfigError(`${options.config}: neither auth.htpasswd.path nor auth.tokenserver.htpasswd is set`);
  return path;
}

/** Reads the password from stdin (`--password-stdin`): the whole input, less one trailing newline. */
async function passwordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks on the terminal without echo (stderr for the prompt, so stdout stays clean). */
async function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (data: Buffer) => {
        for (const char of data.toString('utf8')) {
          if (char === '\r' || char === '\n') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            resolve(value);
            return;
          }
          if (char === '\u0003' || char === '\u0004') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            reject(new UserCommandError('cancelled'));
            return;
          }
          if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
          else value += char;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

async function readNewPassword(fromStdin: boolean): Promise<string> {
  let password: string;
  if (fromStdin) {
    password = await passwordFromStdin();
  } else {
    if (!process.stdin.isTTY) throw new UserCommandError('no terminal to ask for the password: use --password-stdin');
    password = await promptHidden('Password: ');
    if ((await promptHidden('Repeat password: ')) !== password) throw new UserCommandError('the passwords differ');
  }
  if (password === '') throw new UserCommandError('the password may not be empty');
  if (Buffer.byteLength(password) > 72) throw new UserCommandError('bcrypt uses at most 72 bytes of a password: choose a shorter one');
  return password;
}

/** `berth user add|passwd|remove|list`: manages the users of an htpasswd file (bcrypt, cost 10). */
export function userCommand(): Command {
  const user = new Command('user').description('manage the users of the htpasswd file (auth.htpasswd or auth.tokenserver)');
  const withFile = (command: Command) =>
    command
      .option('-f, --file <htpasswd>', 'the htpasswd file (created when missing)')
      .option('-c, --config <config.yml>', 'take the file from this registry config (auth.htpasswd.path or auth.tokenserver.htpasswd)');

  withFile(user.command('add').argument('<name>', 'user name').description('add a user (asks for the password)'))
    .option('--password-stdin', 'read the password from stdin instead of asking')
    .action(async (name: string, options: FileOptions & { passwordStdin?: boolean }) => {
      checkUserName(name);
      const path = await htpasswdPath(options);
      await ensureAbsent(path, name);
      const hash = await hashPassword(await readNewPassword(options.passwordStdin ?? false));
      await updateHtpasswd(path, (users) => {
        if (users.has(name)) throw new UserCommandError(`user ${name} already exists in ${path}`);
        users.set(name, hash);
      });
      process.stderr.write(`added user ${name} to ${path}\n`);
    });

  withFile(user.command('passwd').argument('<name>', 'user name').description("change a user's password"))
    .option('--password-stdin', 'read the password from stdin instead of asking')
    .action(async (name: string, options: FileOptions & { passwordStdin?: boolean }) => {
      const path = await htpasswdPath(options);
      if (!(await readUsers(path)).has(name)) throw new UserCommandError(`no user ${name} in ${path}`);
      const hash = await hashPassword(await readNewPassword(options.passwordStdin ?? false));
      await updateHtpasswd(path, (users) => {
        if (!users.has(name)) throw new UserCommandError(`no user ${name} in ${path}`);
        users.set(name, hash);
      });
      process.stderr.write(`changed the password of ${name} in ${path}\n`);
    });

  withFile(user.command('remove').argument('<name>', 'user name').description('remove a user'))
    .action(async (name: string, options: FileOptions) => {
      const path = await htpasswdPath(options);
      await updateHtpasswd(path, (users) => {
        if (!users.delete(name)) throw new UserCommandError(`no user ${name} in ${path}`);
      });
      process.stderr.write(`removed user ${name} from ${path}\n`);
    });

  withFile(user.command('list').description('list the users, one a line')).action(async (options: FileOptions) => {
    const path = await htpasswdPath(options);
    for (const name of [...(await readUsers(path)).keys()].sort()) process.stdout.write(`${name}\n`);
  });
  return user;
}

async function readUsers(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  return parseHtpasswd(text, path);
}

async function ensureAbsent(path: string, name: string): Promise<void> {
  if ((await readUsers(path)).has(name)) throw new UserCommandError(`user ${name} already exists in ${path}`);
}

/** Errors these commands print as one line (no stack). */
export function isUserFacingError(error: unknown): boolean {
  return error instanceof UserCommandError || error instanceof HtpasswdError;
}
