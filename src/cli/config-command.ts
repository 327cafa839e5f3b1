import { Command } from 'commander';
import { configJsonSchema, effectiveConfigYaml } from '../config/effective.js';
import { loadConfig } from '../config/load.js';

/**
 * `berth config check [config.yml]` and `berth config schema`. A configuration error is thrown
 * as a ConfigError, which main.ts prints as one line with exit status 1.
 */
export function configCommand(): Command {
  const command = new Command('config').description('check a configuration file, or print the JSON Schema of the format');

  command
    .command('check')
    .argument('[config]', 'a Distribution-format config.yml; without it, the built-in default')
    .description(
      'validate the file with REGISTRY_* overrides applied, print warnings for keys not implemented yet (stderr)\n' +
        'and the effective configuration as YAML (stdout): defaults filled in, secrets shown as <redacted>',
    )
    .action(async (file?: string) => {
      const { config, warnings } = await loadConfig(file);
      for (const warning of warnings) process.stderr.write(`berth: warning: ${warning}\n`);
      process.stdout.write(effectiveConfigYaml(config));
    });

  command
    .command('schema')
    .description('print a JSON Schema (draft 2020-12) of config.yml, for editors and CI checks')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });

  return command;
}
