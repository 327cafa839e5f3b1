import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createDriver } from '../storage/create-driver.js';
import type { StorageDriver } from '../storage/driver.js';
import { UserCommandError } from './user.js';

/**
 * The storage a config file names, for commands that work on it directly (`repo delete`, `du`)
 * while the registry may be running. `storage.inmemory` lives inside the serving process, so
 * there is nothing to open from outside.
 */
export async function openStorage(file: string | undefined): Promise<{ config: Config; driver: StorageDriver }> {
  const { config, warnings } = await loadConfig(file);
  for (const warning of warnings) process.stderr.write(`berth: warning: ${warning}\n`);
  if (config.storage.inmemory) {
    throw new UserCommandError('storage.inmemory keeps its content inside the serving process: there is no storage to open');
  }
  return { config, driver: await createDriver(config.storage) };
}
