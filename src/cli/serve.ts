import { AuthConfigError, createAccessController } from '../auth/create-access-controller.js';
import { ConfigError, loadConfig } from '../config/load.js';
import {
  clientAuthModes,
  listen,
  ListenError,
  parseListenAddress as parseAddress,
  type ClientAuthMode,
  type ListenOptions,
  type TlsVersion,
} from '../http/listener.js';
import { createRequestHandler, type ServerOptions } from '../http/server.js';
import { requestOrigin } from '../http/urls.js';
import { createLogger } from '../log.js';
import { Registry } from '../registry/registry.js';
import { createDriver } from '../storage/create-driver.js';

/** Splits Distribution's `http.addr` (`host:port`, `:port`, `[::1]:port`) for net.listen. */
export function parseListenAddress(addr: string): { host?: string; port: number } {
  return asConfigError(() => parseAddress(addr));
}

/** The `http` section as far as the HTTP front reads it (the schema's type is wider). */
export interface HttpConfig {
  addr: string;
  net?: 'tcp' | 'unix';
  host?: string;
  prefix?: string;
  relativeurls?: boolean;
  /** Milliseconds. */
  draintimeout?: number;
  headers?: Record<string, string[]>;
  tls?: {
    certificate?: string;
    key?: string;
    clientcas?: string[];
    clientauth?: string;
    minimumtls?: string;
  };
  http2?: { disabled?: boolean };
  h2c?: { enabled?: boolean };
}

/** The one place where the `http` config keys become the HTTP front's options. */
export function httpOptions(http: HttpConfig): {
  listen: ListenOptions;
  server: Pick<ServerOptions, 'host' | 'prefix' | 'relativeUrls' | 'headers'>;
  drainMs: number;
} {
  const { tls } = http;
  if (tls && (tls.certificate === undefined) !== (tls.key === undefined)) {
    throw new ConfigError('http.tls: certificate and key must be given together');
  }
  if (tls?.clientauth !== undefined && !(clientAuthModes as readonly string[]).includes(tls.clientauth)) {
    throw new ConfigError(`http.tls.clientauth: must be one of ${clientAuthModes.join(', ')}`);
  }
  if (tls?.minimumtls !== undefined && !['tls1.0', 'tls1.1', 'tls1.2', 'tls1.3'].includes(tls.minimumtls)) {
    throw new ConfigError('http.tls.minimumtls: must be one of tls1.0, tls1.1, tls1.2, tls1.3');
  }
  const net = http.net ?? 'tcp';
  if (net === 'tcp') parseListenAddress(http.addr);
  return {
    listen: {
      net,
      addr: http.addr,
      tls:
        tls?.certificate !== undefined && tls.key !== undefined
          ? {
              certificate: tls.certificate,
              key: tls.key,
              clientCas: tls.clientcas,
              clientAuth: tls.clientauth as ClientAuthMode | undefined,
              minimumTls: tls.minimumtls as TlsVersion | undefined,
            }
          : undefined,
      http2: !(http.http2?.disabled ?? false),
      h2c: http.h2c?.enabled ?? false,
    },
    server: { host: http.host, prefix: http.prefix, relativeUrls: http.relativeurls ?? false, headers: http.headers },
    drainMs: http.draintimeout ?? 0,
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
  const registry = new Registry(driver, { deleteEnabled: config.storage.delete.enabled });
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
