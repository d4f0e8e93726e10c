import { Logger, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { connectRedis, createRedisConnection, isCluster } from '@parley/redis-streams';
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
    // On a Redis Cluster the adapter's SSUBSCRIBEs go to each channel's slot owner, one subscriber per master.
    this.adapterSub = createRedisConnection(config.redisUrl, `${name}:io-sub`, { shardedSubscriber: true });
    this.events = createRedisConnection(config.redisUrl, `${name}:events-sub`);
    const names = ['commands', 'io-pub', 'io-sub', 'events-sub'];
    [this.commands, this.adapterPub, this.adapterSub, this.events].forEach((client, i) =>
      client.on('error', (err: Error) => this.logger.debug(`${name}:${names[i]}: ${err.message}`)),
    );
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

  /** Whether these are Redis Cluster connections: commands that batch keys of several slots must not (`isCluster`). */
  get cluster(): boolean {
    return isCluster(this.commands);
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
