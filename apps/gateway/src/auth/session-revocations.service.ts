import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Id } from '@parley/contracts';
import { METRICS_REGISTRY } from '@parley/observability';
import { Gauge, type Registry } from 'prom-client';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RedisService } from '../redis/redis.service.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

export interface EndedSession {
  sessionId: string;
  userId: Id;
}

/** Sessions are read from Postgres at boot in pages of at most this many (more is a warning, see below). */
const BOOT_LOAD_LIMIT = 100_000;

/**
 * Which sessions have ended, on every gateway, for as long as one of their access tokens can still be valid
 * (JWT_ACCESS_TTL_SECONDS plus the clock tolerance): their tokens are refused on REST and at the handshake, and
 * their sockets closed.
 *
 * A gateway that ends a session appends it to the Redis stream `sessions:ended` (trimmed by age); every gateway
 * reads that stream every SESSION_SYNC_MS (one XREAD, usually empty) and keeps the ids in memory, so checking a
 * token costs a map lookup. A stream rather than pub/sub: a gateway that was disconnected for a moment reads what
 * it missed. A gateway starting up also asks Postgres (the sessions table is the record), so an ended session stays
 * ended even if Redis lost its data.
 */
@Injectable()
export class SessionRevocations implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Sessions');
  /** Session id → when to forget it (ms since the epoch). */
  private readonly ended = new Map<string, number>();
  private readonly listeners: Array<(ended: EndedSession) => void> = [];
  private readonly streamKey: string;
  private readonly keepMs: number;
  private lastId = '0-0';
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly redis: RedisService,
    private readonly rpc: ChatsRpcClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.streamKey = redis.key('sessions:ended');
    this.keepMs = (config.accessTtlSeconds + config.jwtClockToleranceSeconds) * 1000 + 60_000;
    const ended = this.ended;
    new Gauge({
      name: 'parley_sessions_ended_known',
      help: 'Ended sessions whose access tokens this gateway refuses (until those tokens would have expired)',
      registers: [registry],
      collect() {
        this.set(ended.size);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    await this.sync().catch((err: unknown) =>
      this.logger.warn(`sessions not read: ${(err as Error).message}`),
    );
    this.schedule();
    void this.loadFromDatabase();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  isEnded(sessionId: string | undefined): boolean {
    return sessionId !== undefined && this.ended.has(sessionId);
  }

  /** Called once per ended session, on every gateway (the realtime side closes its sockets). */
  onEnded(listener: (ended: EndedSession) => void): void {
    this.listeners.push(listener);
  }

  /** Records sessions just ended in Postgres: applied here at once, and on the other gateways at their next read. */
  async end(sessions: EndedSession[]): Promise<void> {
    if (sessions.length === 0) return;
    for (const s of sessions) this.apply(s);
    const cutoff = String(Date.now() - this.keepMs);
    const writes = this.redis.commands.pipeline();
    for (const s of sessions) {
      writes.xadd(this.streamKey, 'MINID', '~', cutoff, '*', 's', s.sessionId, 'u', String(s.userId));
    }
    const failed = ((await writes.exec()) ?? []).find(([err]) => err);
    if (failed) throw failed[0];
  }

  private apply(ended: EndedSession): void {
    if (this.ended.has(ended.sessionId)) return;
    this.ended.set(ended.sessionId, Date.now() + this.keepMs);
    for (const listener of this.listeners) listener(ended);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sync()
        .catch((err: unknown) => this.logger.debug(`sessions not read: ${(err as Error).message}`))
        .finally(() => this.schedule());
    }, this.config.sessionSyncMs);
    this.timer.unref();
  }

  /** Reads what other gateways appended since the last read, and forgets sessions whose tokens are all expired. */
  private async sync(): Promise<void> {
    for (;;) {
      const reply = await this.redis.commands.xread('COUNT', 1000, 'STREAMS', this.streamKey, this.lastId);
      const entries = reply?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        this.lastId = id;
        const sessionId = fields[fields.indexOf('s') + 1];
        const userId = Number(fields[fields.indexOf('u') + 1]);
        if (sessionId && Number.isSafeInteger(userId)) this.apply({ sessionId, userId });
      }
      if (entries.length < 1000) break;
    }
    const now = Date.now();
    for (const [id, forgetAt] of this.ended) if (forgetAt < now) this.ended.delete(id);
  }

  /** At boot, the sessions Postgres says ended recently; retried until the chats service answers. */
  private async loadFromDatabase(): Promise<void> {
    while (!this.stopped) {
      try {
        const { sessions } = await this.rpc.call('sessions.ended-since', {
          seconds: Math.ceil(this.keepMs / 1000),
          limit: BOOT_LOAD_LIMIT,
        });
        for (const s of sessions) this.apply({ sessionId: s.id, userId: s.user_id });
        if (sessions.length === BOOT_LOAD_LIMIT) {
          this.logger.warn(
            `${BOOT_LOAD_LIMIT} sessions ended recently: the oldest were not loaded from Postgres`,
          );
        }
        return;
      } catch (err) {
        this.logger.debug(`ended sessions not loaded yet: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 2000).unref());
      }
    }
  }
}
