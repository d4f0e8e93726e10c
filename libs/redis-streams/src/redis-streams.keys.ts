/**
 * The request stream of one shard of a service. One shard (the default) is the stream `<prefix>rpc:<service>`;
 * with `shards` > 1 shard `i` is `<prefix>rpc:<service>:{<prefix><service>:<i>}`: a hash tag of its own, so a Redis
 * Cluster spreads the shards over its masters while each shard's keys (its dead letters too) stay in one slot, and
 * still under the deployment's prefix.
 */
export function requestStreamKey(keyPrefix: string, service: string, shard = 0, shards = 1): string {
  if (shards <= 1) return `${keyPrefix}rpc:${service}`;
  return `${keyPrefix}rpc:${service}:{${keyPrefix}${service}:${shard}}`;
}

/** Every request stream of a service sharded `shards` ways. */
export function requestStreamKeys(keyPrefix: string, service: string, shards = 1): string[] {
  return Array.from({ length: Math.max(1, shards) }, (_, i) =>
    requestStreamKey(keyPrefix, service, i, shards),
  );
}

export function replyStreamKey(keyPrefix: string, service: string, clientId: string): string {
  return `${keyPrefix}rpc:${service}:reply:${clientId}`;
}

/** Where requests that crashed every consumer they were given to are set aside, for someone to look at. */
export function deadLetterStreamKey(keyPrefix: string, service: string, shard = 0, shards = 1): string {
  return `${requestStreamKey(keyPrefix, service, shard, shards)}:dead`;
}

/** Field names of stream entries. Short, because every request carries them. */
export const Field = {
  /** The serialized packet: `{ id?, pattern, data, metadata? }`. */
  packet: 'p',
  /** Reply stream key (requests only). */
  replyTo: 'r',
  /**
   * How long the client waits for the reply, ms. The deadline is the entry id's time (Redis's clock at XADD) plus
   * this, so it means the same to every consumer whatever their own clocks say.
   */
  budget: 't',
  /**
   * Legacy: epoch ms, by the client's clock, after which it no longer waits. Written by clients older than
   * `budget`; still honoured when `budget` is absent, so clients and servers can be upgraded in any order.
   */
  deadline: 'd',
} as const;

/** Fields a dead letter carries besides those of the request (long names: people read these, not machines). */
export const DeadLetterField = {
  /** The request's id in the request stream. */
  entryId: 'entry',
  /** How many times it had been handed to a consumer. */
  deliveries: 'deliveries',
  /** The consumer that had it last (and, presumably, died of it). */
  consumer: 'consumer',
} as const;
