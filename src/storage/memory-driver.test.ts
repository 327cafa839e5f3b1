import { MemoryDriver } from './memory-driver.js';
import { runDriverSuite } from './testing/driver-suite.js';

runDriverSuite('inmemory', async () => ({ driver: new MemoryDriver() }));
