import { Command } from 'commander';
import { storageUsage, type StorageUsage } from '../registry/usage.js';
import { openStorage } from './offline-storage.js';
import { humanSize } from '../units.js';

/** `berth du [config.yml] [--json]`: storage used per repository (see registry/usage.ts). */
export function duCommand(): Command {
  return new Command('du')
    .argument('[config]', 'a Distribution-format config.yml; without it, the built-in default (./data)')
    .option('--json', 'print JSON (sizes in bytes) for scripts')
    .description(
      'storage used per repository: the blobs it links and their size, split into bytes shared with ' +
        'another repository and bytes only it links, with totals and the unique bytes of the whole registry',
    )
    .action(async (file: string | undefined, options: { json?: boolean }) => {
      const { driver } = await openStorage(file);
      const usage = await storageUsage(driver);
      process.stdout.write(options.json ? `${JSON.stringify(usage, null, 2)}\n` : usageTable(usage));
    });
}

/** A plain table: one row per repository, then the totals. */
export function usageTable(usage: StorageUsage): string {
  const rows = [
    ['REPOSITORY', 'BLOBS', 'SIZE', 'SHARED', 'EXCLUSIVE'],
    ...usage.repositories.map((r) => [r.name, String(r.blobs), humanSize(r.bytes), humanSize(r.sharedBytes), humanSize(r.exclusiveBytes)]),
    ['TOTAL (linked)', '', humanSize(usage.linkedBytes), '', ''],
    ['UNIQUE (stored)', String(usage.uniqueBlobs), humanSize(usage.uniqueBytes), '', ''],
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
  const missing = usage.repositories.filter((r) => r.missing > 0);
  const notes = missing.map((r) => `note: ${r.name} links ${r.missing} blob(s) whose content is missing (counted as 0 bytes)`);
  return `${[...lines, ...notes].join('\n')}\n`;
}
