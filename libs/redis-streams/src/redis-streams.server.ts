import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  Server,
  type CustomTransportStrategy,
  type MessageHandler,
  type ReadPacket,
  type WritePacket,
} from '@nestjs/microservices';
import type { ChainableCommander, Redis } from 'ioredis';
import { context as otelContext } from '@opentelemetry/api';
import { HandlingTimes } from './handling-times.js';
import { connectRedis, createRedisConnection, isCluster } from './redis-connection.js';
import { RedisClock } from './redis-clock.js';
import { RedisStreamsContext } from './redis-streams.context.js';
import { DeadLetterField, deadLetterStreamKey, Field, requestStreamKey } from './redis-streams.keys.js';
import type { RedisStreamsServerOptions } from './redis-streams.options.js';
import { DEAD_LETTERED_ERROR, HANDLER_TIMEOUT_ERROR, SERVICE_BUSY_ERROR } from './rpc.errors.js';
import { startServerSpans } from './rpc-tracing.js';

export const REDIS_STREAMS_TRANSPORT = Symbol('REDIS_STREAMS_TRANSPORT');

type StreamEntry = [id: string, fields: string[]];
/** An entry of the extended XPENDING reply. */
type PendingEntry = [id: string, consumer: string, idleMs: number, deliveries: number];
type Request = ReadPacket & { id?: string };

interface InFlight {
  /** performance.now() when it was last claimed or refreshed. */
  touchedAt: number;
}

export interface RedisStreamsServerStats {
  inFlight: number;
  handled: number;
  claimed: number;
  /** Dropped unanswered: the caller had given up by the time a consumer took it. */
  expired: number;
  malformed: number;
  /** Refused with `SERVICE_BUSY` before any work: waited too long in the stream, or could not be done in time. */
  shed: number;
  /** Moved to the dead-letter stream after `maxDeliveries` deliveries none of which was answered. */
  deadLettered: number;
  /** Answered with `HANDLER_TIMEOUT` because the handler took longer than `handlerTimeoutMs` or the deadline. */
  handlerTimeouts: number;
}

/** How often the offset to Redis's clock is measured again. */
const CLOCK_SYNC_MS = 10_000;
/** Approximate cap on the dead-letter stream's length. */
const DEAD_LETTER_MAX_LENGTH = 10_000;
/** setTimeout fires at once beyond this; a longer handler timeout is as good as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The serving side of RPC over a Redis stream and a consumer group.
 *
 * Every instance of a service joins the same group, so each request is delivered to exactly one consumer
 * (XREADGROUP `>`), unlike pub/sub where every subscriber gets every request. A request stays in the group's
 * pending list until its reply is written; if its consumer dies, another instance claims it once it has been
 * idle for `claimIdleMs` (XPENDING + XCLAIM) and answers it. Handlers must therefore be idempotent: a request can run
 * twice when a consumer dies after doing the work but before acknowledging it. A request that every consumer died
 * of `maxDeliveries` times is moved to a dead-letter stream rather than handed to the next one.
 *
 * Under overload a consumer refuses work whose answer would come too late (past the deadline, waited longer than
 * `queueLimitMs`, or less time left than the handler usually takes), all before calling the handler, and gives up
 * on a handler after `handlerTimeoutMs`. Times are on Redis's clock, from the entry ids, not on the hosts' clocks.
 *
 * Replies go to the reply stream named in the request, which only the requesting client reads.
 */
export class RedisStreamsServer extends Server implements CustomTransportStrategy {
  override readonly transportId = REDIS_STREAMS_TRANSPORT;

  readonly consumer: string;
  private readonly stream: string;
  private readonly deadLetterStream: string;
  private readonly group: string;
  private readonly concurrency: number;
  private readonly blockMs: number;
  private readonly claimIdleMs: number;
  private readonly replyMaxLength: number;
  private readonly replyTtlMs: number;
  private readonly staleConsumerMs: number;
  private readonly drainTimeoutMs: number;
  private readonly maxDeliveries: number;
  private readonly handlerTimeoutMs: number;
  private readonly queueLimitMs?: (pattern: string) => number | undefined;

  private reader?: Redis;
  private writer?: Redis;
  private running = false;
  private readLoopDone?: Promise<void>;
  private timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Map<string, InFlight>();
  private slotWaiters: Array<() => void> = [];
  private readonly counters = {
    handled: 0,
    claimed: 0,
    expired: 0,
    malformed: 0,
    shed: 0,
    deadLettered: 0,
    handlerTimeouts: 0,
  };
  private readonly clock = new RedisClock();
  private readonly handlingTimes = new HandlingTimes();
  private readonly listeners: Array<[string, (...args: unknown[]) => void]> = [];
  /** When each reply stream's expiry was last renewed (renewed at most every replyTtlMs / 4). */
  private readonly replyExpirySetAt = new Map<string, number>();

  constructor(private readonly options: RedisStreamsServerOptions) {
    super();
    const [prefix, shard, shards] = [options.keyPrefix ?? '', options.shard ?? 0, options.shards ?? 1];
    this.stream = requestStreamKey(prefix, options.service, shard, shards);
    this.deadLetterStream = deadLetterStreamKey(prefix, options.service, shard, shards);
    this.group = options.service;
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.concurrency = options.concurrency ?? 64;
    this.blockMs = options.blockMs ?? 2000;
    this.claimIdleMs = options.claimIdleMs ?? 5000;
    this.replyMaxLength = options.replyMaxLength ?? 10_000;
    this.replyTtlMs = options.replyTtlMs ?? 60_000;
    this.staleConsumerMs = options.staleConsumerMs ?? 3_600_000;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    this.maxDeliveries = options.maxDeliveries ?? 3;
    this.handlerTimeoutMs = options.handlerTimeoutMs ?? 10_000;
    this.queueLimitMs = options.queueLimitMs;
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
      await this.syncClock();
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
        setInterval(() => void this.syncClock(), CLOCK_SYNC_MS),
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

  /** Redis's current time, epoch ms, estimated from this process's clock and a periodically measured offset. */
  redisNow(): number {
    return this.clock.now();
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

  private async syncClock(): Promise<void> {
    // On failure the last offset stands: it goes stale only as fast as the two clocks drift apart.
    await this.clock.sync(this.writer!).catch(() => undefined);
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
    this.inFlight.set(entryId, { touchedAt: performance.now() });
    if (claimed) this.counters.claimed++;
    void this.handleEntry(entryId, fields, claimed).catch((err: unknown) => {
      this.logger.error(`Request ${entryId} failed outside its handler: ${String(err)}`);
      this.release(entryId);
    });
  }

  private async handleEntry(entryId: string, fields: string[], claimed: boolean): Promise<void> {
    const values = toRecord(fields);
    const packet = await this.parse(values);
    if (!packet) {
      this.counters.malformed++;
      this.logger.warn(`Dropping malformed request ${entryId}`);
      return this.acknowledge(entryId);
    }
    const now = this.clock.now();
    const deadline = deadlineOf(entryId, values);
    if (deadline !== undefined && now > deadline) {
      // The client has given up on it; answering would be wasted work.
      this.counters.expired++;
      return this.acknowledge(entryId);
    }

    const context = new RedisStreamsContext([this.stream, entryId, packet.metadata, claimed, packet.pattern]);
    // The handler runs in a span of the caller's trace (when the caller sent one), which ends with the reply.
    const traced = startServerSpans(this.options.service, packet.pattern, packet.metadata, {
      'messaging.message.id': entryId,
      'parley.rpc.redelivery': claimed,
    });
    if (!traced) return this.handleParsedEntry(entryId, values, packet, context, now, deadline, claimed);
    let failure: unknown;
    try {
      return await otelContext.with(traced.context, () =>
        this.handleParsedEntry(entryId, values, packet, context, now, deadline, claimed, (err) => {
          failure = err;
        }),
      );
    } finally {
      traced.spans.end(failure);
    }
  }

  private async handleParsedEntry(
    entryId: string,
    values: Record<string, string | undefined>,
    packet: Request,
    context: RedisStreamsContext,
    now: number,
    deadline: number | undefined,
    claimed: boolean,
    onError?: (err: unknown) => void,
  ): Promise<void> {
    if (packet.id === undefined) return this.handleEventEntry(entryId, packet, context);

    const { id, pattern } = packet;
    const replyTo = values[Field.replyTo];
    const answer = (response: WritePacket): Promise<void> => {
      if (response.err) onError?.(response.err);
      return this.reply(entryId, replyTo, { ...response, id } as WritePacket & { id: string });
    };
    if (this.shouldShed(entryId, pattern, now, deadline, claimed)) {
      this.counters.shed++;
      return answer({ err: SERVICE_BUSY_ERROR, isDisposed: true });
    }
    const handler = this.getHandlerByPattern(pattern);
    if (!handler) {
      this.counters.handled++;
      return answer({ err: `No handler for pattern "${pattern}"`, status: 'error', isDisposed: true });
    }
    const timeoutMs = Math.min(this.handlerTimeoutMs, deadline === undefined ? Infinity : deadline - now);
    return this.runHandler(entryId, packet, context, handler, timeoutMs, answer);
  }

  /** The request's packet, or `undefined` when it cannot be read (or names no pattern). */
  private async parse(values: Record<string, string | undefined>): Promise<Request | undefined> {
    try {
      const packet = (await this.deserializer.deserialize(JSON.parse(values[Field.packet] ?? ''))) as Request;
      return typeof packet?.pattern === 'string' ? packet : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Whether to refuse a request at once rather than do work whose answer would come too late: it waited in the
   * stream longer than its pattern allows (a backlog is building), or less time is left than the handler usually
   * takes. A claimed request is old because its consumer died, not because of a backlog: only its deadline counts.
   */
  private shouldShed(
    entryId: string,
    pattern: string,
    now: number,
    deadline: number | undefined,
    claimed: boolean,
  ): boolean {
    if (!claimed && this.queueLimitMs) {
      const limit = this.queueLimitMs(pattern);
      if (limit !== undefined && now - entryTimeMs(entryId) > limit) return true;
    }
    if (deadline === undefined) return false;
    const typical = this.handlingTimes.typicalMs(pattern);
    return typical !== undefined && deadline - now < typical;
  }

  /**
   * Events have no caller to answer and no deadline, so they are never shed; but a handler that hangs must not
   * hold its slot forever either, so it gets `handlerTimeoutMs` like any other.
   */
  private async handleEventEntry(
    entryId: string,
    packet: Request,
    context: RedisStreamsContext,
  ): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), Math.min(this.handlerTimeoutMs, MAX_TIMER_MS));
    });
    try {
      const done = this.handleEvent(packet.pattern, packet, context).then(() => false);
      if (await Promise.race([done, timedOut])) {
        this.counters.handlerTimeouts++;
        this.logger.warn(
          `Gave up waiting for the handler of event "${packet.pattern}" (${entryId}) after ${this.handlerTimeoutMs} ms`,
        );
      }
    } finally {
      clearTimeout(timer);
    }
    return this.acknowledge(entryId);
  }

  /**
   * Runs the handler against a timer. Whichever settles first answers the request (and frees its slot); the other
   * is ignored, so a handler that finishes after its timeout neither answers twice nor frees a slot twice.
   */
  private async runHandler(
    entryId: string,
    packet: Request,
    context: RedisStreamsContext,
    handler: MessageHandler,
    timeoutMs: number,
    answer: (response: WritePacket) => Promise<void>,
  ): Promise<void> {
    const { pattern } = packet;
    const started = performance.now();
    let settled = false;
    const timer = setTimeout(
      () => {
        settled = true;
        this.counters.handlerTimeouts++;
        this.logger.warn(
          `Handler of "${pattern}" gave no answer to ${entryId} within ${Math.round(timeoutMs)} ms`,
        );
        answer({ err: HANDLER_TIMEOUT_ERROR, isDisposed: true }).catch((err: unknown) =>
          this.logger.error(`Could not answer ${entryId} after its handler timed out: ${String(err)}`),
        );
      },
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
    const respond = (response: WritePacket): Promise<void> => {
      if (settled) return Promise.resolve();
      if (response.isDisposed) {
        settled = true;
        clearTimeout(timer);
        this.counters.handled++;
        if (!response.err) this.handlingTimes.record(pattern, performance.now() - started);
      }
      return answer(response);
    };
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
    const addReply = (writes: ChainableCommander) => this.addReply(writes, replyTo, response);
    const addAck = (writes: ChainableCommander) => {
      if (response.isDisposed) writes.xack(this.stream, this.group, entryId);
    };
    try {
      // On a cluster the reply stream and the request stream live on different nodes, and a pipeline may only
      // address one: the reply is written first and the acknowledgement only once it is, so the order holds.
      if (isCluster(this.writer!)) await this.inSlotOrder([addReply, addAck]);
      else await this.inSlotOrder([(w) => (addReply(w), addAck(w))]);
    } finally {
      if (response.isDisposed) this.release(entryId);
    }
  }

  /**
   * Runs groups of writes one after another, each group in one pipeline: each group's keys share a slot (a Redis
   * Cluster takes no pipeline across nodes), and a group starts only once the one before it succeeded.
   */
  private async inSlotOrder(groups: Array<(writes: ChainableCommander) => void>): Promise<void> {
    for (const add of groups) {
      const writes = this.writer!.pipeline();
      add(writes);
      if (writes.length > 0) await execAll(writes);
    }
  }

  private addReply(
    writes: ChainableCommander,
    replyTo: string | undefined,
    response: WritePacket & { id: string },
  ): void {
    if (!replyTo) return;
    const body = JSON.stringify(this.serializer.serialize(response));
    writes.xadd(replyTo, 'MAXLEN', '~', this.replyMaxLength, '*', Field.packet, body);
    const now = performance.now();
    if ((this.replyExpirySetAt.get(replyTo) ?? -Infinity) < now - this.replyTtlMs / 4) {
      this.replyExpirySetAt.set(replyTo, now);
      writes.pexpire(replyTo, this.replyTtlMs);
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

  /**
   * Takes over requests whose consumer has been silent for `claimIdleMs` (it died, or lost its connection), as many
   * as there are free slots. One already delivered `maxDeliveries` times has most likely killed each consumer that
   * took it, so it goes to the dead-letter stream instead of to the next victim.
   */
  private async claimAbandoned(): Promise<void> {
    if (!this.running) return;
    try {
      let start = '-';
      while (this.running) {
        const free = this.concurrency - this.inFlight.size;
        if (free <= 0) return;
        const page = (await this.writer!.xpending(
          this.stream,
          this.group,
          'IDLE',
          this.claimIdleMs,
          start,
          '+',
          free,
        )) as PendingEntry[];
        const abandoned = new Map(page.filter(([id]) => !this.inFlight.has(id)).map((p) => [p[0], p]));
        if (abandoned.size > 0) {
          // The same minimum idle time as XPENDING's: of consumers racing for an entry, only the first gets it.
          const entries = (await this.writer!.xclaim(
            this.stream,
            this.group,
            this.consumer,
            this.claimIdleMs,
            ...abandoned.keys(),
          )) as (StreamEntry | null)[];
          for (const entry of entries) {
            if (!entry?.[1]) continue; // deleted from the stream (MAXLEN) since: nothing left to answer
            const pending = abandoned.get(entry[0]);
            if (pending && pending[3] >= this.maxDeliveries) await this.deadLetter(entry, pending);
            else this.dispatch(entry, true);
          }
        }
        const last = page[page.length - 1];
        if (!last || page.length < free) return;
        start = `(${last[0]}`;
      }
    } catch (err) {
      if (this.running)
        this.logger.warn(
          `Claiming abandoned requests failed: ${err instanceof Error ? err.message : String(err)}`,
        );
    }
  }

  /**
   * Copies a request to the dead-letter stream with where it had been, answers its caller if it may still be
   * waiting, and acknowledges it, in one pipeline. On failure it stays pending here, and is dead-lettered again
   * once it is idle for `claimIdleMs`.
   */
  private async deadLetter(
    [entryId, fields]: StreamEntry,
    [, consumer, , deliveries]: PendingEntry,
  ): Promise<void> {
    const values = toRecord(fields);
    const packet = await this.parse(values);
    const addDeadLetter = (writes: ChainableCommander) =>
      writes.xadd(
        this.deadLetterStream,
        'MAXLEN',
        '~',
        DEAD_LETTER_MAX_LENGTH,
        '*',
        ...fields,
        DeadLetterField.entryId,
        entryId,
        DeadLetterField.deliveries,
        String(deliveries),
        DeadLetterField.consumer,
        consumer,
      );
    const deadline = deadlineOf(entryId, values);
    const addAnswer = (writes: ChainableCommander) => {
      if (packet?.id === undefined || (deadline !== undefined && this.clock.now() > deadline)) return;
      this.addReply(writes, values[Field.replyTo], {
        err: DEAD_LETTERED_ERROR,
        isDisposed: true,
        id: packet.id,
      });
    };
    const addAck = (writes: ChainableCommander) => writes.xack(this.stream, this.group, entryId);
    try {
      // One pipeline on a single Redis; on a cluster the reply stream is elsewhere: in order, one slot at a time.
      if (isCluster(this.writer!)) await this.inSlotOrder([addDeadLetter, addAnswer, addAck]);
      else await this.inSlotOrder([(w) => (addDeadLetter(w), addAnswer(w), addAck(w))]);
    } catch (err) {
      this.logger.error(
        `Could not dead-letter ${entryId}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return;
    }
    this.counters.deadLettered++;
    this.logger.error(
      `Request ${entryId} ("${packet?.pattern ?? 'unreadable'}") dead-lettered after ${deliveries} deliveries ` +
        `(last to ${consumer}), none answered: see ${this.deadLetterStream}`,
    );
  }

  /** Resets the idle time of requests still being handled here, so no one claims them from a live consumer. */
  private async touchInFlight(): Promise<void> {
    if (!this.running || this.inFlight.size === 0) return;
    const now = performance.now();
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

/**
 * When the caller stops waiting, on Redis's clock: the entry's time plus the budget the client wrote, or the legacy
 * absolute deadline of older clients. `undefined`: it waits as long as it likes (events).
 */
function deadlineOf(entryId: string, values: Record<string, string | undefined>): number | undefined {
  const budget = Number(values[Field.budget]);
  if (budget > 0) return entryTimeMs(entryId) + budget;
  const deadline = Number(values[Field.deadline]);
  return deadline > 0 ? deadline : undefined;
}

/** The millisecond part of a stream id: Redis's clock when the entry was added. */
function entryTimeMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** Runs a pipeline and fails if any of its commands did. */
async function execAll(writes: ChainableCommander): Promise<void> {
  const failed = ((await writes.exec()) ?? []).find(([err]) => err);
  if (failed) throw failed[0];
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
