import { AuthConfigError, createAccessController } from '../auth/create-access-controller.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { HttpConfig } from '../config/sections/http.js';
import { listen, ListenError, parseListenAddress as parseAddress, type ListenOptions } from '../http/listener.js';
import { createRequestHandler, type ServerOptions } from '../http/server.js';
import { requestOrigin } from '../http/urls.js';
import { createLogger } from '../log.js';
import { Registry } from '../registry/registry.js';
import { createDriver } from '../storage/create-driver.js';

/** Splits Distribution's `http.addr` (`host:port`, `:port`, `[::1]:port`) for net.listen. */
export function parseListenAddress(addr: string): { host?: string; port: number } {
  return asConfigError(() => parseAddress(addr));
}

/**
 * The one place where the `http` config keys become the HTTP front's options. The schema has
 * checked every value already (tls certificate and key together, clientauth, minimumtls).
 */
export function httpOptions(http: HttpConfig): {
  listen: ListenOptions;
  server: Pick<ServerOptions, 'host' | 'prefix' | 'relativeUrls' | 'headers'>;
  drainMs: number;
} {
  const { tls } = http;
  if (http.net === 'tcp') parseListenAddress(http.addr);
  return {
    listen: {
      net: http.net,
      addr: http.addr,
      tls:
        tls?.certificate !== undefined && tls.key !== undefined
          ? {
              certificate: tls.certificate,
              key: tls.key,
              clientCas: tls.clientcas,
              clientAuth: tls.clientauth,
              minimumTls: tls.minimumtls,
            }
          : undefined,
      http2: !http.http2.disabled,
      h2c: http.h2c.enabled,
    },
    server: { host: http.host, prefix: http.prefix, relativeUrls: http.relativeurls, headers: http.headers },
    drainMs: http.draintimeout,
  };
}

function asConfigError<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof ListenError) throw new ConfigError(error.message);
    throw error;
  }
}

/** `berth serve [config.yml]`: runs the registry until SIGTERM or SIGINT. */
export async function serve(configFile: string | undefined): Promise<void> {
  const { config, warnings, source } = await loadConfig(configFile);
  const log = createLogger(config.log.level);
  for (const warning of warnings) log.warn({ config: source }, warning);
  const driver = createDriver(config.storage);
  const registry = new Registry(driver, {
    deleteEnabled: config.storage.delete.enabled,
    redirect: !(config.storage.redirect?.disable ?? false),
  });
  const http = httpOptions(config.http);
  const auth = await createAccessController({ auth: config.auth, access: config.access, origin: requestOrigin }, log).catch((error: unknown) => {
    throw error instanceof AuthConfigError ? new ConfigError(error.message) : error;
  });
  const handler = createRequestHandler({
    registry,
    log,
    ...http.server,
    access: auth.access,
    extraRoutes: auth.endpoints,
    accessLog: !config.log.accesslog.disabled,
  });
  const listener = await listen(handler, http.listen).catch((error: unknown) => {
    throw error instanceof ListenError ? new ConfigError(error.message) : error;
  });
  log.info(
    { config: source, storage: driver.name, url: listener.url, address: listener.address, port: listener.port, http2: Boolean(http.listen.tls) && http.listen.http2, deletes: config.storage.delete.enabled },
    'berth is listening',
  );
  // As Distribution: stop accepting, give requests in flight (uploads) up to http.draintimeout,
  // then cut the rest. The exit is 0 either way: the stop was asked for.
  const stop = (signal: string) => {
    log.info({ signal, draintimeout_ms: http.drainMs }, 'shutting down');
    void listener.close(http.drainMs).then(({ drained }) => {
      if (!drained) log.warn({ draintimeout_ms: http.drainMs }, 'requests still in flight were cut');
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
