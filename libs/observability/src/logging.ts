import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DynamicModule, ExecutionContext } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { activeOtelTraceId, tracingEnabled } from './trace-context.js';
import { trace } from '@opentelemetry/api';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** The log field that carries the trace id, from the HTTP request or Socket.IO event through the RPC. */
export const TRACE_KEY = 'traceId';

const traces = new AsyncLocalStorage<string>();
const TRACE_ID = /^[\w.:-]{1,128}$/;

/** The trace id of the work being done now, if any. */
export function currentTraceId(): string | undefined {
  return traces.getStore();
}

/** Runs `fn` (and everything it starts) under `traceId`. */
export function runWithTraceId<T>(traceId: string, fn: () => T): T {
  return traces.run(traceId, fn);
}

/**
 * The id to log the work being started under. With tracing on and a span active: the OpenTelemetry trace id, so a
 * log line finds its trace (docs/integrations.md, "Tracing"). Otherwise the caller's id if it is a sane one (it ends up in logs and
 * headers), else a new one.
 */
export function traceIdFrom(given: unknown): string {
  return activeOtelTraceId() ?? saneId(given) ?? randomUUID();
}

function saneId(given: unknown): string | undefined {
  return typeof given === 'string' && TRACE_ID.test(given) ? given : undefined;
}

/**
 * Express middleware, first in the chain: takes the request's trace id from `X-Request-Id` or makes one, echoes it
 * in the response, and runs the rest of the request under it (so RPCs the request makes carry it too). With
 * tracing on, the id logged is the OpenTelemetry trace id of the request's span; the response still echoes the
 * client's own `X-Request-Id` (else the trace id), and the client's id is kept on the span as `parley.request_id`.
 */
export function traceMiddleware(
  req: IncomingMessage & { id?: unknown },
  res: ServerResponse,
  next: () => void,
): void {
  const given = saneId(req.headers['x-request-id']);
  const id = traceIdFrom(given);
  if (given !== undefined && given !== id && tracingEnabled()) {
    trace.getActiveSpan()?.setAttribute('parley.request_id', given);
  }
  req.id = id;
  res.setHeader('X-Request-Id', given ?? id);
  traces.run(id, next);
}

/**
 * JSON logs (pino) for one app: `app` and `instance` on every line, a `traceId` on every line written while a
 * request is handled (HTTP: see traceMiddleware; RPC: the id the caller put in the packet metadata), no
 * credentials (authorization headers, cookies and token query parameters are redacted) and no request bodies.
 * Health and metrics requests are not logged; successful requests only at debug level.
 */
export function loggingModule(opts: {
  app: string;
  instance: string;
  level: LogLevel;
  /** For an RPC server: the caller's trace id from the RPC context. */
  rpcTraceId?: (context: ExecutionContext) => string | undefined;
}): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      level: opts.level,
      base: { app: opts.app, instance: opts.instance },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      genReqId: (req: IncomingMessage & { id?: unknown }) => traceIdFrom(req.id),
      // On the request's logger, so every line written while handling the request carries it.
      customProps: (req: IncomingMessage & { id?: unknown }) => ({ [TRACE_KEY]: req.id }),
      autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, url: redactUrl(req.url) }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.password_hash',
          '*.token',
          '*.refresh',
          '*.access',
        ],
        censor: '[redacted]',
      },
    },
    microservice: {
      // Successful RPCs at debug; refusals (domain errors with a 4xx status) at info; failures at error.
      customLogLevel: (_context, error) => {
        if (!error) return 'debug';
        const status = (error as { status?: unknown }).status;
        return typeof status === 'number' && status < 500 ? 'info' : 'error';
      },
      customAttributeKeys: { reqId: TRACE_KEY },
      genReqId: (context) => traceIdFrom(opts.rpcTraceId?.(context)),
    },
  });
}

function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/([?&](?:token|access|refresh)=)[^&]*/gi, '$1[redacted]');
}
