import type { RedisOptions } from 'ioredis';

/** Where the transport keeps its keys. Both sides of one service must agree on all three. */
export interface RedisStreamsTarget {
  /** A Redis URL (`redis://host:port/db`) or ioredis options. */
  redis: string | RedisOptions;
  /** Prefix of every key the transport creates, e.g. `parley:`. */
  keyPrefix?: string;
  /** Logical name of the serving side; the request stream is `<prefix>rpc:<service>` and its consumer group `<service>`. */
  service: string;
  /**
   * How many request streams the service's requests are spread over (`requestStreamKey`). Clients send round-robin;
   * a server reads one shard (`RedisStreamsServerOptions.shard`), so a service runs one server per shard
   * (`ShardedRedisStreamsServer`). On a Redis Cluster the shards spread RPC over the masters. Default 1.
   */
  shards?: number;
}

export interface RedisStreamsServerOptions extends RedisStreamsTarget {
  /** Which of the `shards` request streams this server reads. Default 0. */
  shard?: number;
  /** This consumer's name in the group; must be unique per process. Default: hostname-pid-random. */
  consumer?: string;
  /** Requests handled at once by this consumer; it reads no more until one finishes (backpressure). Default 64. */
  concurrency?: number;
  /** How long one XREADGROUP blocks waiting for requests, ms. Default 2000. */
  blockMs?: number;
  /**
   * A pending request whose consumer has not touched it for this long is presumed dead and claimed by another
   * consumer (XPENDING + XCLAIM). Live consumers refresh their in-flight requests every `claimIdleMs / 3`, so a slow
   * handler is not mistaken for a dead one. Default 5000.
   */
  claimIdleMs?: number;
  /**
   * A request already handed to this many consumers, none of which answered (they died), is not handed to
   * another: it is moved to the dead-letter stream (`deadLetterStreamKey`) and its caller gets a `DEAD_LETTERED`
   * error. This keeps one poison request from killing every instance in turn. Default 3.
   */
  maxDeliveries?: number;
  /**
   * A handler that has not answered after this long, ms, or by the request's deadline if that comes first, is
   * given up on: the caller gets a `HANDLER_TIMEOUT` error, the request is acknowledged and its slot freed (the
   * handler runs on, but its result is dropped). Default 10000.
   */
  handlerTimeoutMs?: number;
  /**
   * How long a request of this pattern may wait in the stream before a consumer takes it, ms; one that waited longer
   * is refused with a `SERVICE_BUSY` error instead of handled (its caller gets a fast answer, and the backlog
   * drains). `undefined`: no limit. Giving reads a shorter limit than writes sheds reads first. Called for every
   * request, so it should be a lookup, not a computation. Default: no limit for any pattern.
   */
  queueLimitMs?: (pattern: string) => number | undefined;
  /** Approximate cap on a reply stream's length. Default 10000. */
  replyMaxLength?: number;
  /** A reply stream nobody reads expires after this long, ms. Default 60000. */
  replyTtlMs?: number;
  /** Consumers that have been idle this long with nothing pending are removed from the group, ms. Default 1 h. */
  staleConsumerMs?: number;
  /** On close, how long to wait for in-flight requests to finish, ms. Default 10000. */
  drainTimeoutMs?: number;
}

export interface RedisStreamsClientOptions extends RedisStreamsTarget {
  /** Name of this client in its reply-stream key; unique per process. Default: hostname-pid-random. */
  clientId?: string;
  /** A request without a reply after this long fails with `RpcTimeoutError`, ms. Default 10000. */
  timeoutMs?: number;
  /** Approximate cap on the request stream's length (XADD MAXLEN ~), which bounds Redis memory. Default 100000. */
  maxStreamLength?: number;
  /** How long one XREAD of the reply stream blocks, ms. Default 2000. */
  blockMs?: number;
  /**
   * Replies this client may wait for at once; a request beyond that fails at once with `RpcBusyError`, without
   * being sent, so a service that falls behind does not make its callers pile up requests it cannot answer in time
   * (and their memory here). Default 10000.
   */
  maxInFlight?: number;
}
