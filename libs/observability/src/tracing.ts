// OpenTelemetry tracing for one app process, started by its main.ts before any of the app's modules are imported
// (docs/integrations.md, "Tracing"). This file imports nothing from the app and, with tracing off, nothing from the SDK: the SDK,
// the instrumentations and the ESM loader hook are loaded only once tracing is configured.
import { register } from 'node:module';

/** The modules the instrumentations patch. The ESM loader hook wraps only these (not every module of the app). */
const HOOKED_MODULES = ['http', 'https', 'express', 'ioredis', 'pg', 'socket.io'];

export interface Tracing {
  /** Exports the spans still buffered and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Whether tracing is on: an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and the SDK is not disabled (`OTEL_SDK_DISABLED=true`), as the SDK reads
 * them; `OTEL_TRACES_EXPORTER=none` turns it off too.
 */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint) return false;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() !== 'none';
}

/**
 * Starts the SDK when tracing is configured (else does nothing and returns undefined): the http, express, ioredis,
 * pg and socket.io instrumentations, the OTLP trace exporter the SDK picks from the environment (protocol
 * `OTEL_EXPORTER_OTLP_PROTOCOL`, http/protobuf by default, or http/json), the sampler from `OTEL_TRACES_SAMPLER`,
 * and the resource `service.name` = `OTEL_SERVICE_NAME` or `defaultServiceName`, `service.instance.id` =
 * `instanceId`. Metrics stay Prometheus (`/metrics`) and logs stay pino: the SDK sets up neither.
 */
export async function startTracing(opts: {
  defaultServiceName: string;
  instanceId: string;
}): Promise<Tracing | undefined> {
  if (!tracingConfigured()) return undefined;
  // Before any instrumented module is imported: ESM imports of these modules go through import-in-the-middle,
  // CommonJS requires through require-in-the-middle (set up by the instrumentations themselves).
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: HOOKED_MODULES } });
  const [
    { NodeSDK },
    { defaultResource, resourceFromAttributes },
    { HttpInstrumentation },
    { ExpressInstrumentation, ExpressLayerType },
    { IORedisInstrumentation },
    { PgInstrumentation },
    { SocketIoInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-express'),
    import('@opentelemetry/instrumentation-ioredis'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-socket.io'),
  ]);
  const sdk = new NodeSDK({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.instance.id': opts.instanceId })),
    // NodeSDK lets its `serviceName` win over OTEL_SERVICE_NAME; the variable should win.
    serviceName: process.env.OTEL_SERVICE_NAME?.trim() ? undefined : opts.defaultServiceName,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes are not traced.
        ignoreIncomingRequestHook: (req) => /^\/(health|metrics)(\/|\?|$)/.test(req.url ?? ''),
      }),
      // The route's handler, not every middleware (CORS, body parser, ...) of every request.
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER],
      }),
      // Commands and queries of traced work only: a blocking XREADGROUP loop would otherwise be a trace each time.
      new IORedisInstrumentation({ requireParentSpan: true }),
      new PgInstrumentation({ requireParentSpan: true }),
      new SocketIoInstrumentation({
        // `receive /chat` → `socket.io send-message`: the event is what a reader looks for.
        onHook: (span) => {
          const event = (span as unknown as { attributes?: Record<string, unknown> }).attributes?.[
            'messaging.socket.io.event_name'
          ];
          if (typeof event === 'string') span.updateName(`socket.io ${event}`);
        },
      }),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
