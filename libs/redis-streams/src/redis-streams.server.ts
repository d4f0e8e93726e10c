import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  Server,
  type CustomTransportStrategy,
  type ReadPacket,
  type WritePacket,
} from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { connectRedis, createRedisConnection } from './redis-connection.js';
import { RedisStreamsContext } from './redis-streams.context.js';
import { Field, requestStreamKey } from './redis-streams.keys.js';
import type { RedisStreamsServerOptions } from './redis-streams.options.js';

export const REDIS_STREAMS_TRANSPORT = Symbol('REDIS_STREAMS_TRANSPORT');

type StreamEntry = [id: string, fields: string[]];

interface InFlight {
  touchedAt: number;
}

export interface RedisStreamsServerStats {
  inFlight: number;
  handled: number;
  claimed: number;
  expired: number;
  malformed: number;
}

/**
 * The serving side of RPC over a Redis stream and a consumer group.
 *
 * Every instance of a service joins the same group, so each request is delivered to exactly one consumer
 * (XREADGROUP `>`), unlike pub/sub where every subscriber gets every request. A request stays in the group's
 * pending list until its reply is written; if its consumer dies, another instance claims it once it has been
 * idle for `claimIdleMs` (XAUTOCLAIM) and answers it. Handlers must therefore be idempotent: a request can run
 * twice when a consumer dies after doing the work but before acknowledging it.
 *
 * Replies go to the reply stream named in the request, which only the requesting client reads.
 */
export class RedisStreamsServer extends Server implements CustomTransportStrategy {
  override readonly transportId = REDIS_STREAMS_TRANSPORT;

  readonly consumer: string;
  private readonly stream: string;
  private readonly group: string;
  private readonly concurrency: number;
  private readonly blockMs: number;
  private readonly claimIdleMs: number;
  private readonly replyMaxLength: number;
  private readonly replyTtlMs: number;
  private readonly staleConsumerMs: number;
  private readonly drainTimeoutMs: number;

  private reader?: Redis;
  private writer?: Redis;
  private running = false;
  private readLoopDone?: Promise<void>;
  private timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Map<string, InFlight>();
  private slotWaiters: Array<() => void> = [];
  private readonly counters = { handled: 0, claimed: 0, expired: 0, malformed: 0 };
  private readonly listeners: Array<[string, (...args: unknown[]) => void]> = [];
  /** When each reply stream's expiry was last renewed (renewed at most every replyTtlMs / 4). */
  private readonly replyExpirySetAt = new Map<string, number>();

  constructor(private readonly options: RedisStreamsServerOptions) {
    super();
    this.stream = requestStreamKey(options.keyPrefix ?? '', options.service);
    this.group = options.service;
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.concurrency = options.concurrency ?? 64;
    this.blockMs = options.blockMs ?? 2000;
    this.claimIdleMs = options.claimIdleMs ?? 5000;
    this.replyMaxLength = options.replyMaxLength ?? 10_000;
    this.replyTtlMs = options.replyTtlMs ?? 60_000;
    this.staleConsumerMs = options.staleConsumerMs ?? 3_600_000;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
  }

  async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      this.reader = createRedisConnection(this.options.redis, `${this.consumer}:rpc-read`);
      this.writer = createRedisConnection(this.options.redis, `${this.consumer}:rpc-write`);
      for (const [event, fn] of this.listeners) {
        this.reader.on(event, fn);
        this.writer.on(event, fn);
      }
      for (const client of [this.reader, this.writer]) {
        client.on('error', (err: Error) => this.logger.error(`Redis: ${err.message}`));
        client.on('reconnecting', () => this._status$.next('reconnecting'));
        client.on('ready', () => this._status$.next('connected'));
      }
      await Promise.all([connectRedis(this.reader), connectRedis(this.writer)]);
      await this.ensureGroup();
      this.running = true;
      this.readLoopDone = this.readLoop();
      this.timers.push(
        setInterval(() => void this.claimAbandoned(), Math.max(100, Math.floor(this.claimIdleMs / 2))),
        setInterval(() => void this.touchInFlight(), Math.max(100, Math.floor(this.claimIdleMs / 3))),
        setInterval(
          () => void this.removeStaleConsumers(),
          Math.max(1000, Math.min(60_000, this.staleConsumerMs)),
        ),
        setInterval(() => void this.trimAnswered(), 1000),
      );
      for (const t of this.timers) t.unref();
      callback();
    } catch (err) {
      callback(err);
    }
  }

  /** Stops reading, waits up to `drainTimeoutMs` for in-flight requests to be answered, then disconnects. */
  async close(): Promise<void> {
    if (!this.running && !this.reader) return;
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.reader?.disconnect(); // aborts the blocking XREADGROUP
    await this.readLoopDone?.catch(() => undefined);
    const deadline = Date.now() + this.drainTimeoutMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.inFlight.size > 0) {
      this.logger.warn(
        `Closing with ${this.inFlight.size} requests unanswered; another consumer will claim them`,
      );
    }
    await this.writer?.quit().catch(() => undefined);
    this.reader = undefined;
    this.writer = undefined;
  }

  /** Subscribes to events of both underlying ioredis connections (`error`, `ready`, `reconnecting`, …). */
  on<EventKey extends string = string, EventCallback extends Function = Function>(
    event: EventKey,
    callback: EventCallback,
  ): void {
    const fn = callback as unknown as (...args: unknown[]) => void;
    this.listeners.push([event, fn]);
    this.reader?.on(event, fn);
    this.writer?.on(event, fn);
  }

  unwrap<T>(): T {
    if (!this.reader || !this.writer) throw new Error('Not initialized: call listen() first');
    return { reader: this.reader, writer: this.writer } as T;
  }

  stats(): RedisStreamsServerStats {
    return { inFlight: this.inFlight.size, ...this.counters };
  }

  /** Backlog of the group: entries not yet delivered (`lag`) and delivered but unanswered (`pending`). */
  async backlog(): Promise<{ lag: number; pending: number }> {
    const groups = (await this.writer!.xinfo('GROUPS', this.stream)) as unknown[];
    for (const g of groups) {
      const info = toRecord(g);
      if (info.name === this.group) return { lag: Number(info.lag ?? 0), pending: Number(info.pending ?? 0) };
    }
    return { lag: 0, pending: 0 };
  }

  private async ensureGroup(): Promise<void> {
    try {
      // From id 0: requests written before the first consumer ever started are served too.
      await this.writer!.xgroup('CREATE', this.stream, this.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('BUSYGROUP')) throw err;
    }
  }

  private async readLoop(): Promise<void> {
    while (this.running) {
      await this.waitForSlot();
      if (!this.running) break;
      try {
        const free = this.concurrency - this.inFlight.size;
        const res = (await this.reader!.xreadgroup(
          'GROUP',
          this.group,
          this.consumer,
          'COUNT',
          free,
          'BLOCK',
          this.blockMs,
          'STREAMS',
          this.stream,
          '>',
        )) as [string, StreamEntry[]][] | null;
        if (!res) continue;
        for (const [, entries] of res) {
          for (const entry of entries) this.dispatch(entry, false);
        }
      } catch (err) {
        if (!this.running) break;
        const message = err instanceof Error ? err.message : String(err);
        if (message.startsWith('NOGROUP')) {
          // Redis lost its data (restart without persistence): recreate the group and carry on.
          this.logger.warn('Consumer group is gone (Redis restarted?); recreating it');
          await this.ensureGroup().catch(() => undefined);
        } else {
          this.logger.error(`XREADGROUP failed: ${message}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  }

  private waitForSlot(): Promise<void> {
    if (this.inFlight.size < this.concurrency) return Promise.resolve();
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private release(entryId: string): void {
    if (!this.inFlight.delete(entryId)) return;
    this.slotWaiters.shift()?.();
  }

  private dispatch([entryId, fields]: StreamEntry, claimed: boolean): void {
    if (this.inFlight.has(entryId)) return; // already being handled here (claimed our own entry)
    this.inFlight.set(entryId, { touchedAt: Date.now() });
    if (claimed) this.counters.claimed++;
    void this.handleEntry(entryId, fields, claimed).catch((err: unknown) => {
      this.logger.error(`Request ${entryId} failed outside its handler: ${String(err)}`);
      this.release(entryId);
    });
  }

  private async handleEntry(entryId: string, fields: string[], claimed: boolean): Promise<void> {
    const values = toRecord(fields);
    let packet: ReadPacket & { id?: string };
    try {
      packet = (await this.deserializer.deserialize(JSON.parse(values[Field.packet] ?? ''))) as ReadPacket & {
        id?: string;
      };
      if (typeof packet?.pattern !== 'string') throw new Error('no pattern');
    } catch {
      this.counters.malformed++;
      this.logger.warn(`Dropping malformed request ${entryId}`);
      return this.acknowledge(entryId);
    }
    const deadline = Number(values[Field.deadline] ?? 0);
    if (deadline > 0 && Date.now() > deadline) {
      // The client has given up on it; answering would be wasted work.
      this.counters.expired++;
      return this.acknowledge(entryId);
    }

    const context = new RedisStreamsContext([this.stream, entryId, packet.metadata, claimed, packet.pattern]);
    if (packet.id === undefined) {
      await this.handleEvent(packet.pattern, packet, context);
      return this.acknowledge(entryId);
    }

    const replyTo = values[Field.replyTo];
    const respond = (response: WritePacket): Promise<void> =>
      this.reply(entryId, replyTo, { ...response, id: packet.id } as WritePacket & { id: string });
    const handler = this.getHandlerByPattern(packet.pattern);
    if (!handler) {
      return respond({
        err: `No handler for pattern "${packet.pattern}"`,
        status: 'error',
        isDisposed: true,
      });
    }
    try {
      // Typed as void, but it returns the processing hook's promise, which rejects when the handler itself
      // throws before producing a stream; awaiting it turns that into an error reply, not an unhandled rejection.
      const processing: unknown = this.handleRequest(
        context,
        async () => this.transformToObservable(await handler(packet.data, context)),
        respond,
      );
      await processing;
    } catch (err) {
      await respond({
        err: { status: 'error', message: err instanceof Error ? err.message : String(err) },
        isDisposed: true,
      });
    }
  }

  /**
   * Writes a reply; the final one also acknowledges the request. Both go in one pipeline (one write, no MULTI), so
   * they reach Redis in this order: a crash between them leaves the request pending, and its redelivery is
   * answered again (handlers are idempotent; the client ignores a second answer). Answered requests are deleted in
   * bulk by `trimAnswered`, not one by one.
   */
  private async reply(
    entryId: string,
    replyTo: string | undefined,
    response: WritePacket & { id: string },
  ): Promise<void> {
    const body = JSON.stringify(this.serializer.serialize(response));
    const writes = this.writer!.pipeline();
    if (replyTo) {
      writes.xadd(replyTo, 'MAXLEN', '~', this.replyMaxLength, '*', Field.packet, body);
      const now = Date.now();
      if ((this.replyExpirySetAt.get(replyTo) ?? 0) < now - this.replyTtlMs / 4) {
        this.replyExpirySetAt.set(replyTo, now);
        writes.pexpire(replyTo, this.replyTtlMs);
      }
    }
    if (response.isDisposed) writes.xack(this.stream, this.group, entryId);
    try {
      const failed = ((await writes.exec()) ?? []).find(([err]) => err);
      if (failed) throw failed[0];
    } finally {
      if (response.isDisposed) {
        this.counters.handled++;
        this.release(entryId);
      }
    }
  }

  private async acknowledge(entryId: string): Promise<void> {
    try {
      await this.writer!.xack(this.stream, this.group, entryId);
    } finally {
      this.release(entryId);
    }
  }

  /**
   * Deletes answered requests: every entry older than the group's oldest pending one (or, with nothing pending,
   * up to the last one delivered) has been acknowledged. One XTRIM a second instead of an XDEL per request.
   */
  private async trimAnswered(): Promise<void> {
    if (!this.running) return;
    try {
      const writer = this.writer!;
      const [summary, groups] = await Promise.all([
        writer.xpending(this.stream, this.group) as Promise<[number, string | null, string | null, unknown]>,
        writer.xinfo('GROUPS', this.stream) as Promise<unknown[]>,
      ]);
      const group = groups.map(toRecord).find((g) => g.name === this.group);
      const lastDelivered = group?.['last-delivered-id'];
      const oldestPending = summary[0] > 0 ? summary[1] : null;
      const minId = oldestPending ?? (lastDelivered ? nextId(lastDelivered) : null);
      if (minId && minId !== '0-1') await writer.xtrim(this.stream, 'MINID', minId);
    } catch {
      // Redis unreachable: the next tick tries again (MAXLEN still bounds the stream).
    }
  }

  /** Takes over requests whose consumer has been silent for `claimIdleMs` (it died, or lost its connection). */
  private async claimAbandoned(): Promise<void> {
    if (!this.running) return;
    try {
      let cursor = '0-0';
      do {
        const free = this.concurrency - this.inFlight.size;
        if (free <= 0) return;
        const [next, entries] = (await this.writer!.xautoclaim(
          this.stream,
          this.group,
          this.consumer,
          this.claimIdleMs,
          cursor,
          'COUNT',
          free,
        )) as [string, (StreamEntry | null)[]];
        for (const entry of entries) {
          if (entry) this.dispatch(entry, true);
        }
        cursor = next;
      } while (cursor !== '0-0' && this.running);
    } catch (err) {
      if (this.running)
        this.logger.warn(`XAUTOCLAIM failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Resets the idle time of requests still being handled here, so no one claims them from a live consumer. */
  private async touchInFlight(): Promise<void> {
    if (!this.running || this.inFlight.size === 0) return;
    const now = Date.now();
    const stale = [...this.inFlight]
      .filter(([, f]) => now - f.touchedAt >= this.claimIdleMs / 3)
      .map(([id]) => id);
    if (stale.length === 0) return;
    try {
      // A minimum idle time keeps us from taking back an entry another consumer has just claimed from us.
      const minIdle = Math.floor(this.claimIdleMs / 4);
      await this.writer!.xclaim(this.stream, this.group, this.consumer, minIdle, ...stale, 'JUSTID');
      for (const id of stale) {
        const f = this.inFlight.get(id);
        if (f) f.touchedAt = now;
      }
    } catch {
      // Redis unreachable: nothing to refresh against; the next tick tries again.
    }
  }

  /** Consumers of processes long gone, with nothing pending, are removed so the group does not grow forever. */
  private async removeStaleConsumers(): Promise<void> {
    if (!this.running) return;
    try {
      const consumers = (await this.writer!.xinfo('CONSUMERS', this.stream, this.group)) as unknown[];
      for (const c of consumers) {
        const info = toRecord(c);
        if (
          info.name !== this.consumer &&
          Number(info.pending) === 0 &&
          Number(info.idle) > this.staleConsumerMs
        ) {
          await this.writer!.xgroup('DELCONSUMER', this.stream, this.group, String(info.name));
        }
      }
    } catch {
      // best effort
    }
  }
}

/** The stream id right after `id` (`ms-seq` → `ms-(seq+1)`). */
function nextId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${Number(seq ?? 0) + 1}`;
}

/** `[k1, v1, k2, v2, …]` (RESP2) or a map (RESP3) → `{ k1: v1, … }`: stream entries and XINFO replies. */
function toRecord(reply: unknown): Record<string, string | undefined> {
  if (!Array.isArray(reply)) return (reply ?? {}) as Record<string, string | undefined>;
  const out: Record<string, string | undefined> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1] as string;
  return out;
}
