import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { storageDriver } from '../config/sections/storage.js';
import type { StorageDriver } from './driver.js';
import { FilesystemDriver } from './filesystem-driver.js';
import { MemoryDriver } from './memory-driver.js';

/** The driver the `storage` section names (the schema guarantees exactly one). */
export function createDriver(storage: Config['storage']): StorageDriver {
  if (storage.filesystem) return new FilesystemDriver(resolve(storage.filesystem.rootdirectory));
  if (storage.inmemory) return new MemoryDriver();
  // loadConfig refuses the drivers Berth does not implement; this is for other callers.
  throw new Error(`storage driver ${storageDriver(storage)} is not implemented`);
}
