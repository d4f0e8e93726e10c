import type { ShardedRedisStreamsServer } from '@parley/redis-streams';
import type { Redis } from 'ioredis';

/** The RPC transport this instance serves, for health checks and metrics. */
export const RPC_SERVER = Symbol('RPC_SERVER');

export interface RpcServerHandle {
  /** One of the transport's Redis connections (readiness pings it). */
  redis(): Redis | undefined;
  /** The Redis Streams server, when it is the transport: its in-flight counts and backlog are metrics. */
  streams?: ShardedRedisStreamsServer;
}
