import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { tracerFromEnv } from './tracing-env.js';
import { OtlpExporter, type OtlpExporterOptions } from './otlp-exporter.js';

const silent = pino({ level: 'silent' });

/** The exporter options a tracer was made with (undefined: tracing off). */
function exporterOf(env: NodeJS.ProcessEnv): OtlpExporterOptions | undefined {
  const tracer = tracerFromEnv(env, silent);
  if (!tracer) return undefined;
  assert.ok(tracer.sink instanceof OtlpExporter);
  void tracer.shutdown();
  return tracer.sink.options;
}

describe('tracerFromEnv', () => {
  test('off unless an OTLP endpoint is set, or when disabled', () => {
    assert.equal(exporterOf({}), undefined);
    assert.equal(exporterOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }), undefined);
    assert.equal(exporterOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }), undefined);
    assert.equal(exporterOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }), undefined);
  });

  test('the base endpoint gets /v1/traces; the traces endpoint is used as is', () => {
    assert.equal(exporterOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })?.url, 'http://c:4318/v1/traces');
    assert.equal(exporterOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/base' })?.url, 'http://c:4318/base/v1/traces');
    assert.equal(
      exporterOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:9999/custom' })?.url,
      'http://t:9999/custom',
    );
  });

  test('service name, resource attributes and headers', () => {
    const options = exporterOf({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging,service.name=ignored',
      OTEL_SERVICE_NAME: 'registry-eu',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=a%20b,x-other=1',
    })!;
    assert.deepEqual(options.resource, { 'deployment.environment': 'staging', 'service.name': 'registry-eu' });
    assert.deepEqual(options.headers, { 'x-api-key': 'a b', 'x-other': '1' });
    assert.equal(exporterOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })?.resource['service.name'], 'berth');
  });
});
