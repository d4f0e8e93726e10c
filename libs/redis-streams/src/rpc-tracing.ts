import {
  context,
  createContextKey,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import type { PacketMetadata } from '@nestjs/microservices';

// The W3C trace context of a request travels in its packet's metadata (`traceparent`, `tracestate`), beside the
// log trace id, so the consumer's span is a child of the caller's (docs/integrations.md, "Tracing"). Everything here goes through
// @opentelemetry/api and does nothing, beyond a check or two, while no SDK is registered or the caller is not
// traced: a request whose caller had no span carries no context, and its consumer starts no span.

/** Metadata key of the other callers a request is made for (a batch): their W3C `traceparent`s, comma-separated. */
export const TRACE_LINKS_KEY = 'tracelinks';

const tracer = trace.getTracer('@parley/redis-streams');
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
const OTHER_CALLERS = createContextKey('parley.rpc.other-callers');
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function tracingOn(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider ? provider.getDelegate() !== NOOP_PROVIDER : true;
}

/**
 * Runs `fn`, which makes one request on behalf of several callers (a batch), in the first caller's context, and
 * tells the client about the others: the request's span is in the first caller's trace, and each other caller's
 * trace gets a client span of its own, linked to it, whose context the request carries too (TRACE_LINKS_KEY), so
 * the consumer adds a span to each caller's trace. Every caller's work thus stays one trace.
 */
export function onBehalfOf<T>(callers: Context[], fn: () => T): T {
  const [first, ...others] = callers;
  if (!first || !tracingOn()) return fn();
  return context.with(others.length ? first.setValue(OTHER_CALLERS, others) : first, fn);
}

/** The spans of one request on one side; `end` is idempotent. */
export interface RpcSpans {
  end(err?: unknown): void;
}

const NO_SPANS: RpcSpans = { end: () => undefined };

/**
 * The client's spans for a request about to be written (`rpc <service> <pattern>`, kind CLIENT, in the active
 * context), their context added to `packet.metadata`. Nothing when tracing is off or the caller has no span.
 */
export function startClientSpans(
  service: string,
  pattern: string,
  packet: { metadata?: PacketMetadata },
): RpcSpans {
  if (!tracingOn()) return NO_SPANS;
  const active = context.active();
  if (!trace.getSpan(active)?.isRecording()) return NO_SPANS;
  const name = `rpc ${service} ${pattern}`;
  const attributes = { 'rpc.system': 'redis-streams', 'rpc.service': service, 'rpc.method': pattern };
  const others = (active.getValue(OTHER_CALLERS) as Context[] | undefined) ?? [];
  const main = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, active);
  const mirrors = others.map((caller) =>
    tracer.startSpan(
      name,
      { kind: SpanKind.CLIENT, attributes, links: [{ context: main.spanContext() }] },
      caller,
    ),
  );
  const metadata: PacketMetadata = { ...packet.metadata };
  propagation.inject(trace.setSpan(active, main), metadata);
  if (mirrors.length) metadata[TRACE_LINKS_KEY] = mirrors.map((s) => traceparent(s.spanContext())).join(',');
  packet.metadata = metadata;
  return endAll([main, ...mirrors]);
}

/**
 * The consumer's spans for a request (`rpc <service> <pattern>`, kind SERVER): a child of the caller's span, and one
 * in each other caller's trace (a batch), linked both ways. `context` is the one to run the handler in.
 */
export function startServerSpans(
  service: string,
  pattern: string,
  metadata: PacketMetadata | undefined,
  attributes: Record<string, string | number | boolean>,
): { context: Context; spans: RpcSpans } | undefined {
  if (!metadata || !tracingOn()) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, metadata);
  if (!trace.getSpanContext(parent)) return undefined;
  const others = (metadata[TRACE_LINKS_KEY] ?? '').split(',').flatMap((tp) => {
    const sc = parseTraceparent(tp);
    return sc ? [sc] : [];
  });
  const name = `rpc ${service} ${pattern}`;
  const attrs = {
    'rpc.system': 'redis-streams',
    'rpc.service': service,
    'rpc.method': pattern,
    ...attributes,
  };
  const main = tracer.startSpan(
    name,
    { kind: SpanKind.SERVER, attributes: attrs, links: others.map((sc) => ({ context: sc })) },
    parent,
  );
  const mirrors = others.map((sc) =>
    tracer.startSpan(
      name,
      { kind: SpanKind.SERVER, attributes: attrs, links: [{ context: main.spanContext() }] },
      trace.setSpanContext(ROOT_CONTEXT, sc),
    ),
  );
  return { context: trace.setSpan(parent, main), spans: endAll([main, ...mirrors]) };
}

function endAll(spans: Span[]): RpcSpans {
  let ended = false;
  return {
    end(err?: unknown) {
      if (ended) return;
      ended = true;
      for (const span of spans) {
        if (err !== undefined && err !== null) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
        }
        span.end();
      }
    },
  };
}

function errorMessage(err: unknown): string {
  if (typeof err === 'string') return err;
  const message = (err as { message?: unknown })?.message;
  return typeof message === 'string' ? message : JSON.stringify(err);
}

function traceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & TraceFlags.SAMPLED).toString(16)}`;
}

function parseTraceparent(value: string): SpanContext | undefined {
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
}
