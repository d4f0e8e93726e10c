import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import {
  REDIS_STREAMS_TRANSPORT,
  RedisStreamsServer,
  type RedisStreamsServerStats,
} from './redis-streams.server.js';
import type { RedisStreamsServerOptions } from './redis-streams.options.js';

/**
 * A service's side of RPC over `shards` request streams: one `RedisStreamsServer` per shard, each with its own
 * blocking reader (a stream read cannot span slots on a Redis Cluster), all serving the handlers Nest registers on
 * this one. `concurrency` is split between them. With one shard it is a `RedisStreamsServer` with a wrapper around it.
 */
export class ShardedRedisStreamsServer extends Server implements CustomTransportStrategy {
  override readonly transportId = REDIS_STREAMS_TRANSPORT;
  readonly shards: RedisStreamsServer[];

  constructor(options: RedisStreamsServerOptions) {
    super();
    const count = Math.max(1, options.shards ?? 1);
    const concurrency = Math.max(1, Math.ceil((options.concurrency ?? 64) / count));
    this.shards = Array.from(
      { length: count },
      (_, shard) => new RedisStreamsServer({ ...options, shards: count, shard, concurrency }),
    );
  }

  async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      for (const server of this.shards) {
        for (const [pattern, handler] of this.getHandlers()) server.getHandlers().set(pattern, handler);
        await new Promise<void>((resolve, reject) =>
          server.listen((err?: unknown) =>
            err
              ? reject(
                  err instanceof Error ? err : new Error(`shard ${server.consumer}: ${JSON.stringify(err)}`),
                )
              : resolve(),
          ),
        );
      }
      callback();
    } catch (err) {
      callback(err);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }

  on<EventKey extends string = string, EventCallback extends Function = Function>(
    event: EventKey,
    callback: EventCallback,
  ): void {
    for (const s of this.shards) s.on(event, callback);
  }

  unwrap<T>(): T {
    return this.shards[0]!.unwrap<T>();
  }

  /** One of the shards' writer connections (they share a Redis or a cluster). */
  writer(): Redis | undefined {
    try {
      return this.unwrap<{ writer: Redis }>().writer;
    } catch {
      return undefined;
    }
  }

  stats(): RedisStreamsServerStats {
    const total = this.shards[0]!.stats();
    for (const s of this.shards.slice(1)) {
      for (const [k, v] of Object.entries(s.stats())) total[k as keyof RedisStreamsServerStats] += v;
    }
    return total;
  }

  async backlog(): Promise<{ lag: number; pending: number }> {
    const all = await Promise.all(this.shards.map((s) => s.backlog()));
    return all.reduce((a, b) => ({ lag: a.lag + b.lag, pending: a.pending + b.pending }), {
      lag: 0,
      pending: 0,
    });
  }

  redisNow(): number {
    return this.shards[0]!.redisNow();
  }
}
