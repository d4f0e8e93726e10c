import { Logger, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { connectRedis, createRedisConnection } from '@parley/redis-streams';
import type { Redis } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { INSTANCE_ID } from '../gateway.tokens.js';

/**
 * The gateway's connections to Redis (besides the RPC transport's own): `commands` for scripts and keys, the
 * Socket.IO adapter's publisher and subscriber, and `events` for our own channels. Keys and channels get the
 * deployment's prefix from `key()`. Provided already connected (see `redisServiceProvider`), because the
 * Socket.IO gateway is initialized before any `onModuleInit` hook runs.
 */
export class RedisService implements OnApplicationShutdown {
  readonly commands: Redis;
  readonly adapterPub: Redis;
  readonly adapterSub: Redis;
  readonly events: Redis;
  private readonly logger = new Logger('Redis');

  constructor(
    private readonly config: GatewayConfig,
    name: string,
  ) {
    this.commands = createRedisConnection(config.redisUrl, `${name}:commands`, { failFast: true });
    this.adapterPub = createRedisConnection(config.redisUrl, `${name}:io-pub`);
    this.adapterSub = createRedisConnection(config.redisUrl, `${name}:io-sub`);
    this.events = createRedisConnection(config.redisUrl, `${name}:events-sub`);
    for (const client of [this.commands, this.adapterPub, this.adapterSub, this.events]) {
      client.on('error', (err: Error) =>
        this.logger.debug(`${client.options.connectionName}: ${err.message}`),
      );
    }
  }

  async connect(): Promise<void> {
    await Promise.all([this.commands, this.adapterPub, this.adapterSub, this.events].map(connectRedis));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      [this.commands, this.adapterPub, this.adapterSub, this.events].map((c) =>
        c.quit().catch(() => c.disconnect()),
      ),
    );
  }

  key(name: string): string {
    return `${this.config.redisPrefix}${name}`;
  }
}

export const redisServiceProvider: Provider = {
  provide: RedisService,
  inject: [GATEWAY_CONFIG, INSTANCE_ID],
  useFactory: async (config: GatewayConfig, instanceId: string) => {
    const redis = new RedisService(config, instanceId);
    await redis.connect();
    return redis;
  },
};
