import { Command } from 'commander';
import { isValidName } from '../protocol/names.js';
import { RegistryError } from '../protocol/errors.js';
import { Registry } from '../registry/registry.js';
import { openStorage } from './offline-storage.js';
import { UserCommandError } from './user.js';

/**
 * `berth repo delete <name> [config.yml]`: deletes a repository straight in storage, as
 * `DELETE /berth/v1/repositories/<name>` does over HTTP. Needs `storage.delete.enabled`, as every
 * delete; `storage.maintenance.readonly` does not stop it (an operator's command, like
 * `garbage-collect`). Blob content stays until garbage collection.
 */
export function repoCommand(): Command {
  const repo = new Command('repo').description('manage repositories directly in storage');
  repo
    .command('delete')
    .argument('<name>', 'the repository, e.g. team/app')
    .argument('[config]', 'a Distribution-format config.yml; without it, the built-in default (./data)')
    .description('delete a repository: its tags, manifests, layer links and uploads (blob data stays for garbage-collect)')
    .action(async (name: string, file: string | undefined) => {
      if (!isValidName(name)) throw new UserCommandError(`invalid repository name ${JSON.stringify(name)}`);
      const { config, driver } = await openStorage(file);
      const registry = new Registry(driver, { deleteEnabled: config.storage.delete.enabled });
      try {
        await registry.deleteRepository(name);
      } catch (error) {
        if (error instanceof RegistryError && error.code === 'NAME_UNKNOWN') throw new UserCommandError(`no repository ${name}`, { cause: error });
        if (error instanceof RegistryError) throw new UserCommandError(error.message, { cause: error });
        throw error;
      }
      process.stderr.write(`deleted repository ${name} (run garbage-collect to free its blobs)\n`);
    });
  return repo;
}
