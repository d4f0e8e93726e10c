import { Redis, type RedisOptions } from 'ioredis';
import { coalesceWrites } from './write-coalescing.js';

/**
 * An ioredis connection that never gives up reconnecting (backoff capped at 2 s), because a Redis restart must
 * not require restarting the apps. Commands issued while disconnected fail fast when `failFast` is set (callers
 * that answer users want a clear error, not a queue that drains after the user gave up); otherwise they wait.
 */
export function createRedisConnection(
  target: string | RedisOptions,
  name: string,
  opts: { failFast?: boolean } = {},
): Redis {
  const base: RedisOptions = typeof target === 'string' ? {} : target;
  const options: RedisOptions = {
    ...base,
    connectionName: name,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 2000),
    maxRetriesPerRequest: opts.failFast ? 0 : null,
    enableOfflineQueue: !opts.failFast,
    // No auto-pipelining: measured under the benchmark's load it cost more CPU and latency than it saved
    // (docs/benchmarks.md, "Optimizations"). The commands of one turn still leave in one write (below).
    enableAutoPipelining: false,
  };
  const redis = typeof target === 'string' ? new Redis(target, options) : new Redis(options);
  // A turn's commands in one write: Redis, the one process every instance shares, reads them in one read and
  // spends about a seventh less CPU per message (docs/benchmarks.md, "Write coalescing"). Each (re)connection has a
  // new socket; the handshake's few commands go before 'connect', uncoalesced.
  redis.on('connect', () => coalesceWrites(redis.stream));
  return redis;
}

/** Resolves once the connection is ready (it keeps retrying in the background until it is). */
export async function connectRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') {
    redis.connect().catch(() => undefined); // retryStrategy keeps trying; we wait for 'ready' below
  }
  await new Promise<void>((resolve) => {
    if (redis.status === 'ready') return resolve();
    redis.once('ready', () => resolve());
  });
}
