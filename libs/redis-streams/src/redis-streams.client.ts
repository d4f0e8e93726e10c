import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { Redis } from 'ioredis';
import { connectRedis, createRedisConnection } from './redis-connection.js';
import { Field, replyStreamKey, requestStreamKeys } from './redis-streams.keys.js';
import type { RedisStreamsClientOptions } from './redis-streams.options.js';
import { RpcBusyError, RpcTimeoutError, RpcUnavailableError } from './rpc.errors.js';
import { startClientSpans, type RpcSpans } from './rpc-tracing.js';

/** How often the client deletes the replies it has read. */
const REPLY_TRIM_INTERVAL_MS = 1000;

interface Waiting {
  pattern: string;
  callback: (packet: WritePacket) => void;
  timer: NodeJS.Timeout;
  spans: RpcSpans;
}

/**
 * The requesting side of RPC over Redis Streams: `client.send(pattern, data)` appends the request to the
 * service's stream and resolves with the reply that the one consumer handling it writes to this client's own
 * reply stream. A reply that does not arrive within `timeoutMs` fails with `RpcTimeoutError`; a request that
 * cannot be written (Redis down) fails at once with `RpcUnavailableError`, and so does, with `RpcBusyError`, one
 * made while `maxInFlight` requests already wait for their replies.
 */
export class RedisStreamsClient extends ClientProxy {
  readonly clientId: string;
  /** The service's request streams (one per shard), written round-robin. */
  private readonly streams: string[];
  private nextShard = 0;
  private readonly replyStream: string;
  private readonly timeoutMs: number;
  private readonly maxStreamLength: number;
  private readonly blockMs: number;
  private readonly maxInFlight: number;
  /** `timeoutMs` as written in every request (Field.budget). */
  private readonly budget: string;

  private writer?: Redis;
  private reader?: Redis;
  private connecting?: Promise<void>;
  private running = false;
  private readLoopDone?: Promise<void>;
  private readonly waiting = new Map<string, Waiting>();
  private readonly counters = { sent: 0, timeouts: 0, unavailable: 0, busy: 0 };

  constructor(private readonly options: RedisStreamsClientOptions) {
    super();
    const prefix = options.keyPrefix ?? '';
    this.clientId = options.clientId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.streams = requestStreamKeys(prefix, options.service, options.shards);
    this.replyStream = replyStreamKey(prefix, options.service, this.clientId);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxStreamLength = options.maxStreamLength ?? 100_000;
    this.blockMs = options.blockMs ?? 2000;
    this.maxInFlight = options.maxInFlight ?? 10_000;
    this.budget = String(this.timeoutMs);
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
  }

  connect(): Promise<void> {
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.running = false;
    this.reader?.disconnect();
    await this.readLoopDone?.catch(() => undefined);
    await this.writer?.quit().catch(() => undefined);
    for (const [, w] of this.waiting) {
      clearTimeout(w.timer);
      w.callback({ err: new RpcUnavailableError(w.pattern, 'client closed'), isDisposed: true });
    }
    this.waiting.clear();
    this.connecting = undefined;
    this.writer = this.reader = undefined;
  }

  unwrap<T>(): T {
    if (!this.writer || !this.reader) throw new Error('Not initialized: call connect() first');
    return { writer: this.writer, reader: this.reader } as T;
  }

  override on(event: string, callback: (...args: unknown[]) => void): void {
    this.writer?.on(event, callback);
  }

  stats(): { waiting: number; sent: number; timeouts: number; unavailable: number; busy: number } {
    return { waiting: this.waiting.size, ...this.counters };
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const request = this.assignPacketId(packet);
    const pattern = this.normalizePattern(request.pattern);
    const id = request.id;
    if (this.waiting.size >= this.maxInFlight) {
      this.counters.busy++;
      callback({ err: new RpcBusyError(pattern), isDisposed: true });
      return () => undefined;
    }
    // The request's span (when the caller is traced); its context rides in the packet's metadata.
    const spans = startClientSpans(this.options.service, pattern, request);
    const timer = setTimeout(() => {
      if (!this.waiting.delete(id)) return;
      this.counters.timeouts++;
      const err = new RpcTimeoutError(pattern, this.timeoutMs);
      spans.end(err);
      callback({ err, isDisposed: true });
    }, this.timeoutMs);
    this.waiting.set(id, { pattern, callback, timer, spans });
    this.counters.sent++;

    const body = JSON.stringify(this.serializer.serialize({ ...request, pattern }));
    this.writer!.xadd(
      this.nextStream(),
      'MAXLEN',
      '~',
      this.maxStreamLength,
      '*',
      Field.packet,
      body,
      Field.replyTo,
      this.replyStream,
      // A budget, not a deadline: consumers count it from the entry id, Redis's clock, not from ours.
      Field.budget,
      this.budget,
    ).catch((err: unknown) => {
      if (!this.waiting.delete(id)) return;
      clearTimeout(timer);
      this.counters.unavailable++;
      const unavailable = new RpcUnavailableError(pattern, err);
      spans.end(unavailable);
      callback({ err: unavailable, isDisposed: true });
    });

    return () => {
      clearTimeout(timer);
      this.waiting.delete(id);
      spans.end();
    };
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const pattern = this.normalizePattern(packet.pattern);
    const body = JSON.stringify(this.serializer.serialize({ ...packet, pattern }));
    try {
      return (await this.writer!.xadd(
        this.nextStream(),
        'MAXLEN',
        '~',
        this.maxStreamLength,
        '*',
        Field.packet,
        body,
      )) as T;
    } catch (err) {
      throw new RpcUnavailableError(pattern, err);
    }
  }

  /** Round-robin: every shard gets an equal share of the requests, whichever patterns they carry. */
  private nextStream(): string {
    const stream = this.streams[this.nextShard]!;
    this.nextShard = (this.nextShard + 1) % this.streams.length;
    return stream;
  }

  private async open(): Promise<void> {
    // Requests fail fast while Redis is down; the reply reader waits for it to come back.
    this.writer = createRedisConnection(this.options.redis, `${this.clientId}:rpc-send`, { failFast: true });
    this.reader = createRedisConnection(this.options.redis, `${this.clientId}:rpc-reply`);
    this.writer.on('error', () => undefined); // reported through failed requests and health checks
    this.reader.on('error', () => undefined);
    this.writer.on('ready', () => this._status$.next('connected'));
    this.writer.on('reconnecting', () => this._status$.next('reconnecting'));
    await Promise.all([connectRedis(this.writer), connectRedis(this.reader)]);
    this.running = true;
    this.readLoopDone = this.readReplies();
  }

  private async readReplies(): Promise<void> {
    // The reply stream is this process's alone, so reading it from the start misses nothing and repeats nothing.
    let lastId = '0-0';
    let trimmedAt = 0;
    let trimTimer: NodeJS.Timeout | undefined;
    const trim = () => {
      trimmedAt = performance.now();
      trimTimer = undefined;
      void this.reader?.xtrim(this.replyStream, 'MINID', lastId).catch(() => undefined);
    };
    while (this.running) {
      try {
        const res = await this.reader!.xread(
          'COUNT',
          512,
          'BLOCK',
          this.blockMs,
          'STREAMS',
          this.replyStream,
          lastId,
        );
        if (!res) continue;
        for (const [, entries] of res) {
          for (const [entryId, fields] of entries) {
            lastId = entryId;
            this.deliver(fields);
          }
        }
        // Read replies are of no further use: trim them (MINID keeps the last one, which costs nothing), at most
        // once a second rather than after every read (the server's MAXLEN bounds the stream meanwhile); the
        // replies of a last burst are trimmed by a timer.
        const sinceTrim = performance.now() - trimmedAt;
        if (sinceTrim >= REPLY_TRIM_INTERVAL_MS) trim();
        else trimTimer ??= setTimeout(trim, REPLY_TRIM_INTERVAL_MS - sinceTrim).unref();
      } catch {
        if (!this.running) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    clearTimeout(trimTimer);
  }

  private deliver(fields: string[]): void {
    const idx = fields.indexOf(Field.packet);
    if (idx < 0) return;
    let response: WritePacket & { id: string };
    try {
      response = this.deserializer.deserialize(JSON.parse(fields[idx + 1]!)) as WritePacket & { id: string };
    } catch {
      return;
    }
    const w = this.waiting.get(response.id);
    if (!w) return; // timed out already, or a second answer to a request that was redelivered
    if (response.isDisposed || response.err) {
      clearTimeout(w.timer);
      this.waiting.delete(response.id);
      w.spans.end(response.err);
    }
    w.callback(response);
  }
}
