import { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { configCommand } from './config-command.js';
import { garbageCollectCommand } from './garbage-collect.js';
import { duCommand } from './du.js';
import { benchCommand } from './bench.js';
import { copyCommand, pullCommand, pushCommand } from './image-commands.js';
import { catalogCommand, deleteCommand, inspectCommand, loginCommand, logoutCommand, tagsCommand } from './registry-commands.js';
import { clientErrorText } from './client-errors.js';
import { repoCommand } from './repo.js';
import { serve } from './serve.js';
import { syncCommand } from './sync.js';
import { isUserFacingError, userCommand } from './user.js';
import { berthVersion } from '../version.js';

const program = new Command('berth')
  .description(
    'Berth: a container image registry speaking the OCI Distribution Spec v1.1 and the Docker Registry HTTP API v2,\n' +
      'a drop-in replacement for registry:2 (same config.yml, REGISTRY_* variables and storage layout).',
  )
  .version(berthVersion);

program
  .command('serve')
  .argument('[config]', 'a Distribution-format config.yml; without it: filesystem storage under ./data on 0.0.0.0:5000, deletes enabled')
  .description('run the registry')
  .addHelpText(
    'after',
    '\nREGISTRY_* environment variables override keys of the file, as in Distribution:\n' +
      '  REGISTRY_HTTP_ADDR=127.0.0.1:5000 REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/srv/registry berth serve config.yml',
  )
  .option('--workers <n>', 'worker processes serving the same address and storage (http.workers; default: one per core but one)', parseWorkers)
  .action(async (config: string | undefined, options: { workers?: number }) => {
    await serve(config, { workers: options.workers });
  });

function parseWorkers(value: string): number {
  const workers = Number(value);
  if (!/^\d+$/.test(value) || workers < 1) throw new ConfigError(`--workers: must be an integer of at least 1, not ${JSON.stringify(value)}`);
  return workers;
}

program.addCommand(userCommand());
program.addCommand(configCommand());
program.addCommand(garbageCollectCommand());
program.addCommand(repoCommand());
program.addCommand(duCommand());
program.addCommand(syncCommand());
for (const command of [pushCommand(), pullCommand(), copyCommand(), tagsCommand(), catalogCommand(), inspectCommand(), deleteCommand(), loginCommand(), logoutCommand(), benchCommand()]) {
  program.addCommand(command);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`berth: configuration error: ${error.message}\n`);
  } else if (clientErrorText(error) !== undefined) {
    process.stderr.write(`berth: ${clientErrorText(error)}\n`);
  } else if (isUserFacingError(error)) {
    process.stderr.write(`berth: ${(error as Error).message}\n`);
  } else {
    process.stderr.write(`berth: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
