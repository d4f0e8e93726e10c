import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import { coalesceWrites } from './write-coalescing.js';

/** The scheme that names a Redis Cluster by its seed nodes (`rediss+cluster://` for TLS). */
const CLUSTER_SCHEMES = ['redis+cluster:', 'rediss+cluster:'];

/**
 * Where a Redis Cluster is: `redis+cluster://[user:password@]host:port[,host:port…]`. Any reachable node is enough
 * to learn the rest (CLUSTER SLOTS); more are tried in turn when one is down. `undefined` for any other target.
 */
export function parseClusterUrl(target: string | RedisOptions): ClusterTarget | undefined {
  if (typeof target !== 'string') return undefined;
  const scheme = CLUSTER_SCHEMES.find((s) => target.startsWith(`${s}//`));
  if (!scheme) return undefined;
  const rest = target.slice(scheme.length + 2).replace(/\/.*$/, '');
  const at = rest.lastIndexOf('@');
  const auth = at >= 0 ? rest.slice(0, at) : '';
  const [user, password] = auth.includes(':') ? auth.split(/:(.*)/s) : ['', auth];
  const nodes = (at >= 0 ? rest.slice(at + 1) : rest).split(',').map((hostPort) => {
    const colon = hostPort.lastIndexOf(':');
    const host = colon > 0 ? hostPort.slice(0, colon) : hostPort;
    return { host: host.replace(/^\[|\]$/g, ''), port: Number(colon > 0 ? hostPort.slice(colon + 1) : 6379) };
  });
  if (nodes.some((n) => !n.host || !Number.isInteger(n.port) || n.port < 1 || n.port > 65535)) {
    throw new Error(`Cannot read the cluster nodes of ${scheme}//…`);
  }
  return {
    nodes,
    redisOptions: {
      ...(user ? { username: decodeURIComponent(user) } : {}),
      ...(password ? { password: decodeURIComponent(password) } : {}),
      ...(scheme === 'rediss+cluster:' ? { tls: {} } : {}),
    },
  };
}

export interface ClusterTarget {
  nodes: ClusterNode[];
  redisOptions: RedisOptions;
}

/**
 * Whether a connection made by `createRedisConnection` is a Redis Cluster client. A cluster client has the same
 * command API and is typed as `Redis` throughout; what differs is that a command's keys must share a slot (scripts,
 * MULTI) and a pipeline's keys one node, so the few places that batch across keys ask this first.
 */
export function isCluster(redis: Redis): boolean {
  return (redis as unknown as { isCluster?: boolean }).isCluster === true;
}

/**
 * An ioredis connection that never gives up reconnecting (backoff capped at 2 s), because a Redis restart must
 * not require restarting the apps. Commands issued while disconnected fail fast when `failFast` is set (callers
 * that answer users want a clear error, not a queue that drains after the user gave up); otherwise they wait.
 *
 * A `redis+cluster://` target gives an `ioredis.Cluster` (typed as `Redis`, see `isCluster`): one connection per
 * node, slots followed through MOVED and failovers, and, with `shardedSubscriber`, one sharded-pub/sub subscriber per
 * master, so SSUBSCRIBE follows each channel's slot owner.
 */
export function createRedisConnection(
  target: string | RedisOptions,
  name: string,
  opts: { failFast?: boolean; shardedSubscriber?: boolean } = {},
): Redis {
  const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 10), 2000);
  const cluster = parseClusterUrl(target);
  if (cluster) return createClusterConnection(cluster, name, opts, retryStrategy);
  const base: RedisOptions = typeof target === 'string' ? {} : target;
  const options: RedisOptions = {
    ...base,
    connectionName: name,
    lazyConnect: true,
    retryStrategy,
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

function createClusterConnection(
  { nodes, redisOptions }: ClusterTarget,
  name: string,
  opts: { failFast?: boolean; shardedSubscriber?: boolean },
  retryStrategy: (times: number) => number,
): Redis {
  const cluster = new Cluster(nodes, {
    lazyConnect: true,
    clusterRetryStrategy: retryStrategy,
    enableOfflineQueue: !opts.failFast,
    enableAutoPipelining: false,
    shardedSubscribers: opts.shardedSubscriber ?? false,
    // While a failed master's replica is promoted, commands for its slots wait this long between tries.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2000,
    redisOptions: {
      ...redisOptions,
      connectionName: name,
      maxRetriesPerRequest: opts.failFast ? 0 : null,
    },
  });
  // Each node's connection coalesces its turn's writes, as a single Redis's does.
  cluster.on('+node', (node: Redis) => node.on('connect', () => coalesceWrites(node.stream)));
  return cluster as unknown as Redis;
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
