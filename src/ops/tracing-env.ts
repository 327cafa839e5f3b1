import type { Logger } from 'pino';
import { OtlpExporter } from './otlp-exporter.js';
import { Tracer, type AttributeValue } from './tracing.js';

/**
 * The tracer the standard OpenTelemetry variables ask for, or undefined when tracing is off:
 * on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the traces URL, used as is) or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL; `/v1/traces` is appended) is set, unless
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. Also read: `OTEL_SERVICE_NAME`
 * (default `berth`), `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS` /
 * `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (`key=value,...`, values percent-encoded).
 * Spans are always sent as OTLP/HTTP JSON.
 */
export function tracerFromEnv(env: NodeJS.ProcessEnv, log: Logger): Tracer | undefined {
  const url = tracesUrl(env);
  if (url === undefined) return undefined;
  if (!URL.canParse(url)) {
    log.error({ url }, 'traces: the OTLP endpoint is not a URL; tracing is off');
    return undefined;
  }
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol !== undefined && protocol.trim() !== 'http/json') {
    log.warn({ protocol }, 'traces: only the http/json OTLP protocol is implemented; sending http/json');
  }
  const resource: Record<string, AttributeValue> = {
    ...keyValueList(env.OTEL_RESOURCE_ATTRIBUTES),
    'service.name': env.OTEL_SERVICE_NAME?.trim() || keyValueList(env.OTEL_RESOURCE_ATTRIBUTES)['service.name'] || 'berth',
  };
  const headers = { ...keyValueList(env.OTEL_EXPORTER_OTLP_HEADERS), ...keyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) };
  // The URL only: headers may hold an API key.
  log.info({ url, service: resource['service.name'] }, 'traces: sending spans with OTLP/HTTP JSON');
  return new Tracer(new OtlpExporter({ url, resource, headers, log }));
}

function tracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/** The W3C Baggage-like `key=value,key2=value2` lists the OTEL_* variables use. */
function keyValueList(text: string | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const item of (text ?? '').split(',')) {
    const equals = item.indexOf('=');
    if (equals <= 0) continue;
    const key = item.slice(0, equals).trim();
    const raw = item.slice(equals + 1).trim();
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      value = raw;
    }
    if (key) result[key] = value;
  }
  return result;
}
