import type { Command } from 'commander';
import { readCredentials } from '../client/docker-config.js';
import { RegistryClient, type ClientOptions } from '../client/registry-client.js';

/** The connection flags every client command takes (push, pull, copy, tags, inspect, ...). */
export interface ConnectionFlags {
  insecure?: boolean;
  caFile?: string;
  username?: string;
  password?: string;
}

/** Adds --insecure, --ca-file, --username and --password to a command. */
export function withConnectionFlags(command: Command): Command {
  return command
    .option('--insecure', 'plain HTTP instead of HTTPS (a registry on 127.0.0.1 or a trusted network)')
    .option('--ca-file <file>', 'trust the CA certificates in this PEM file for HTTPS')
    .option('-u, --username <user>', 'log in as this user (default: the credentials `berth login` saved)')
    .option('-p, --password <password>', 'password for --username (or BERTH_PASSWORD)');
}

/**
 * A client for one registry. Credentials: --username/--password when given, else what
 * `berth login` (or `docker login`, `skopeo login`) saved in the Docker config file.
 */
export async function connect(registry: string, flags: ConnectionFlags): Promise<RegistryClient> {
  return new RegistryClient(registry, await clientOptions(registry, flags));
}

/** The client options the flags ask for, credentials resolved as connect() does. */
export async function clientOptions(registry: string, flags: ConnectionFlags): Promise<ClientOptions> {
  const credentials = flags.username
    ? { username: flags.username, password: flags.password ?? process.env.BERTH_PASSWORD ?? '' }
    : await readCredentials(registry);
  return { insecure: flags.insecure, caFile: flags.caFile, credentials };
}
