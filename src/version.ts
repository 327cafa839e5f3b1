import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Berth's version, from package.json: `berth --version` and the UI report it. src/ and dist/
 * both sit one level below the package root, so the path holds compiled or not.
 */
export const berthVersion: string = (JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version: string }).version;
