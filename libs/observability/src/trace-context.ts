import {
  context,
  propagation,
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';

// The parts of tracing the app's code calls. They use @opentelemetry/api only, which is a no-op until
// tracing.ts starts the SDK (docs/integrations.md, "Tracing"), and each checks `tracingEnabled()` first, so with tracing off they
// cost a property read or two.

const tracer = trace.getTracer('@parley/observability');
/** What the global tracer provider delegates to while no SDK is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Whether an OpenTelemetry SDK is registered (tracing.ts started it). */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider ? provider.getDelegate() !== NOOP_PROVIDER : true;
}

/** The trace id of the active span, when tracing is on and a span is active. */
export function activeOtelTraceId(): string | undefined {
  if (!tracingEnabled()) return undefined;
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span.spanContext().traceId : undefined;
}

/**
 * Adds the active trace context (W3C `traceparent`, `tracestate`) to outgoing HTTP headers, so the receiver's spans
 * join this trace. Nothing happens with tracing off or outside a trace. Requests made with node:http are
 * instrumented already (the http instrumentation adds the headers itself); this is for fetch and other clients.
 */
export function injectTraceHeaders<H extends Record<string, string>>(headers: H): H {
  if (tracingEnabled()) propagation.inject(context.active(), headers);
  return headers;
}

/**
 * Runs `fn` inside a new span `name` (a child of the active one), ended when `fn` returns or, for a promise, when
 * it settles. With tracing off it is just `fn()`.
 */
export function inSpan<T>(
  name: string,
  fn: () => T,
  opts: { kind?: SpanKind; attributes?: Record<string, string | number | boolean> } = {},
): T {
  if (!tracingEnabled()) return fn();
  return tracer.startActiveSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes },
    (span) => {
      try {
        const result = fn();
        if (result instanceof Promise) {
          return result.then(
            (value: unknown) => (span.end(), value),
            (err: unknown) => {
              fail(span, err);
              throw err;
            },
          ) as T;
        }
        span.end();
        return result;
      } catch (err) {
        fail(span, err);
        throw err;
      }
    },
  );
}

function fail(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  span.end();
}
