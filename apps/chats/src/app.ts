import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, redisOptionsFromUrl, rpcStreamShards } from '@parley/config';
import { ServerRedis } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import type { RpcServerHandle } from './chats.tokens.js';
import { CHATS_READ_PATTERNS, CHATS_SERVICE, type ChatsPattern } from '@parley/contracts';
import { closeOnShutdownSignals, traceMiddleware, type Tracing } from '@parley/observability';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { ShardedRedisStreamsServer } from '@parley/redis-streams';
import { DataSource } from 'typeorm';
import { ChatsModule } from './chats.module.js';
import { loadChatsConfig, type ChatsConfig } from './config/chats.config.js';
import { dataSourceOptions, ensureDatabase, migrateOnce, migrateOptions } from './database/data-source.js';

const logger = new Logger('chats');

function readConfig(): ChatsConfig {
  try {
    return loadChatsConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * `node main.js migrate --check`: exits 0 when the schema is up to date, 1 when migrations are pending or the
 * database is not there yet (for an initContainer that waits for the migration Job).
 */
async function checkMigrations(config: ChatsConfig): Promise<void> {
  try {
    const dataSource = await new DataSource(dataSourceOptions(config.databaseUrl, 1)).initialize();
    const pending = await dataSource.showMigrations();
    await dataSource.destroy();
    logger.log(pending ? 'Migrations are pending' : 'Schema is up to date');
    process.exitCode = pending ? 1 : 0;
  } catch (err) {
    logger.warn(`Cannot check migrations: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

/** `node main.js migrate`: creates the database if needed, applies pending migrations, exits. */
async function runMigrations(config: ChatsConfig): Promise<void> {
  if (await ensureDatabase(config.databaseUrl)) logger.log('Created the database');
  const ran = await migrateOnce(config.databaseUrl, migrateOptions(config));
  logger.log(ran.length ? `Applied ${ran.length} migration(s): ${ran.join(', ')}` : 'Schema is up to date');
}

/** The RPC transport: Redis Streams, or NestJS's built-in Redis pub/sub transport for benchmarks of the seed's design. */
function rpcServer(
  config: ChatsConfig,
  instanceId: string,
): { strategy: ShardedRedisStreamsServer | ServerRedis; handle: RpcServerHandle } {
  if (config.rpcTransport === 'redis-pubsub') {
    logger.warn(
      'RPC_TRANSPORT=redis-pubsub: every chats instance receives every request. Run exactly one (benchmarks only).',
    );
    const server = new ServerRedis({
      ...redisOptionsFromUrl(config.redisUrl),
      retryAttempts: 1_000_000,
      retryDelay: 1000,
    });
    const handle = {
      redis: () => {
        try {
          return server.unwrap<Redis[]>()[0];
        } catch {
          return undefined;
        }
      },
    };
    return { strategy: server, handle };
  }
  const streams = new ShardedRedisStreamsServer({
    redis: config.redisUrl,
    keyPrefix: config.redisPrefix,
    service: CHATS_SERVICE,
    shards: rpcStreamShards(config),
    consumer: instanceId,
    concurrency: config.rpcConcurrency,
    claimIdleMs: config.rpcClaimIdleMs,
    drainTimeoutMs: Math.max(0, config.shutdownTimeoutMs - 1000),
    // Under overload, requests that waited too long are answered "busy" before any work; reads sooner than sends.
    queueLimitMs: (pattern) =>
      CHATS_READ_PATTERNS.has(pattern as ChatsPattern) ? config.rpcMaxQueueMsReads : config.rpcMaxQueueMs,
    handlerTimeoutMs: config.rpcHandlerTimeoutMs,
    maxDeliveries: config.rpcMaxDeliveries,
  });
  const handle = { streams, redis: () => streams.writer() };
  return { strategy: streams, handle };
}

async function serve(config: ChatsConfig, instanceId: string, tracing?: Tracing): Promise<void> {
  if (config.migrateOnStart) await ensureDatabase(config.databaseUrl);
  const { strategy, handle } = rpcServer(config, instanceId);
  const app = await NestFactory.create(ChatsModule.forRoot(config, handle, instanceId), { bufferLogs: true });
  app.useLogger(app.get(PinoNestLogger));
  app.use(traceMiddleware);
  // inheritAppConfig: the logging hook (trace id from the packet metadata) applies to RPC handlers too.
  app.connectMicroservice({ strategy }, { inheritAppConfig: true });
  closeOnShutdownSignals(app, config.shutdownTimeoutMs, tracing);
  await app.startAllMicroservices();
  await app.listen(config.port, '0.0.0.0');
  logger.log(
    `Chats service ${instanceId} serving RPC "${CHATS_SERVICE}"; health and metrics on :${config.port}`,
  );
}

/** The chats service's commands, started by main.ts once tracing is (or is not) set up. */
export async function run(opts: { instanceId: string; tracing?: Tracing }): Promise<void> {
  const config = readConfig();
  if (process.argv[2] === 'migrate' && process.argv[3] === '--check') {
    await checkMigrations(config);
  } else if (process.argv[2] === 'migrate') {
    await runMigrations(config);
  } else {
    await serve(config, config.instanceId ?? opts.instanceId, opts.tracing);
  }
}
