import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from '../config/load.js';
import { createRegistryServer } from '../http/server.js';
import { createLogger } from '../log.js';
import { Registry } from '../registry/registry.js';
import { createDriver } from '../storage/create-driver.js';

/** Splits Distribution's `http.addr` (`host:port`, `:port`, `[::1]:port`) for net.listen. */
export function parseListenAddress(addr: string): { host?: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!match) throw new ConfigError(`http.addr: expected host:port or :port, not ${JSON.stringify(addr)}`);
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (port > 65535) throw new ConfigError(`http.addr: port ${port} is out of range (0-65535)`);
  return { host: host ? host : undefined, port };
}

/** `berth serve [config.yml]`: runs the registry until SIGTERM or SIGINT. */
export async function serve(configFile: string | undefined): Promise<void> {
  const { config, warnings, source } = await loadConfig(configFile);
  const log = createLogger(config.log.level);
  for (const warning of warnings) log.warn({ config: source }, warning);
  const driver = createDriver(config.storage);
  const registry = new Registry(driver, { deleteEnabled: config.storage.delete.enabled });
  const server = createRegistryServer({
    registry,
    log,
    host: config.http.host,
    accessLog: !config.log.accesslog.disabled,
  });
  const { host, port } = parseListenAddress(config.http.addr);
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  log.info(
    { config: source, storage: driver.name, address: address.address, port: address.port, deletes: config.storage.delete.enabled },
    'berth is listening',
  );
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
