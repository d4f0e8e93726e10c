import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { Logger, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import { ConfigError } from '@parley/config';
import { messageLimits, socketFrameMaxBytes } from '@parley/contracts';
import { closeOnShutdownSignals, traceMiddleware, type Tracing } from '@parley/observability';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { loadGatewayConfig, type GatewayConfig } from './config/gateway.config.js';
import { trustFunction } from './common/client-address.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { mountCompatRest } from './compat/compat-rest.js';
import { StrictValidationPipe } from './common/validation.pipe.js';
import { GatewayModule } from './gateway.module.js';
import { buildOpenApiDocument, mountSwagger } from './openapi.js';
import { RedisIoAdapter } from './realtime/redis-io.adapter.js';

const logger = new Logger('gateway');

function readConfig(): GatewayConfig {
  try {
    return loadGatewayConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * Express as the gateway wants it before any route or middleware exists (Express builds its router from these
 * settings once): paths match exactly, in case and trailing slash, so a route has one spelling and nothing can
 * reach a handler under another; the client address comes from X-Forwarded-For only through TRUST_PROXY.
 */
function expressApp(config: GatewayConfig): express.Express {
  const instance = express();
  instance.set('case sensitive routing', true);
  instance.set('strict routing', true);
  instance.set('trust proxy', trustFunction(config.trustProxy));
  instance.disable('x-powered-by');
  return instance;
}

async function createApp(config: GatewayConfig, instanceId: string, opts: { preview?: boolean } = {}) {
  messageLimits.contentMaxLength = config.messageMaxLength;
  const app = await NestFactory.create<NestExpressApplication>(
    GatewayModule.forRoot(config, instanceId),
    new ExpressAdapter(expressApp(config)),
    { preview: opts.preview, logger: opts.preview ? false : undefined, bufferLogs: !opts.preview },
  );
  if (!opts.preview) app.useLogger(app.get(PinoNestLogger));
  // The largest valid body is the largest valid message (content, 10 attachments, 2 KB of metadata, all in
  // `\uXXXX` escapes): the socket's frame limit, so REST and Socket.IO accept the same messages.
  app.useBodyParser('json', { limit: socketFrameMaxBytes(config.messageMaxLength) });
  app.use(traceMiddleware);
  // A POST without a body reads as an empty one (routes whose fields are all optional, such as logout).
  app.use((req: { body?: unknown }, _res: unknown, next: () => void) => {
    req.body ??= {};
    next();
  });
  app.setGlobalPrefix('api', {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  const origins = config.corsOrigins === '*' ? true : config.corsOrigins.split(',').map((o) => o.trim());
  app.enableCors({ origin: origins });
  if (!opts.preview) mountCompatRest(app, config);
  // The demo page, the browser SDK and its vendored socket.io-client (see tools/build-web.ts).
  app.useStaticAssets(fileURLToPath(new URL('../../../public', import.meta.url)), {
    index: 'index.html',
    maxAge: 0,
  });
  // The pipe serves REST and Socket.IO alike; the gateway's own filter takes precedence over this one there.
  app.useGlobalPipes(new StrictValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  if (!opts.preview) app.useWebSocketAdapter(new RedisIoAdapter(app, config));
  return app;
}

/** `node main.js openapi`: prints the OpenAPI document (docs/openapi.json is this output, checked by a test). */
async function printOpenApi(config: GatewayConfig): Promise<void> {
  const app = await createApp(config, 'openapi', { preview: true });
  process.stdout.write(`${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
  await app.close();
}

async function serve(config: GatewayConfig, instanceId: string, tracing?: Tracing): Promise<void> {
  const app = await createApp(config, instanceId);
  mountSwagger(app);
  closeOnShutdownSignals(app, config.shutdownTimeoutMs, tracing);
  await app.listen(config.port, '0.0.0.0');
  logger.log(
    `Gateway ${instanceId} on http://127.0.0.1:${config.port} (Socket.IO /chat, Swagger /api/docs, /metrics)`,
  );
}

/** The gateway's commands, started by main.ts once tracing is (or is not) set up. */
export async function run(opts: { instanceId: string; tracing?: Tracing }): Promise<void> {
  const config = readConfig();
  if (process.argv[2] === 'openapi') {
    await printOpenApi(config);
  } else {
    await serve(config, config.instanceId ?? opts.instanceId, opts.tracing);
  }
}
