import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Id } from '@parley/contracts';
import { METRICS_REGISTRY } from '@parley/observability';
import { Counter, type Registry } from 'prom-client';
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RedisService } from '../redis/redis.service.js';
import { AppErrors } from './app.error.js';

/** What each per-user limit counts (docs/security.md lists them with their defaults). */
export type RateLimitKind =
  | 'messages'
  | 'typing'
  | 'joins'
  | 'leaves'
  | 'readMarks'
  | 'authenticate'
  | 'history'
  | 'lookups'
  | 'conversations'
  | 'groupChanges'
  | 'settings'
  | 'messageChanges';

/** The part of a burst above the per-second rate comes back after this long. */
const BURST_WINDOW_SECONDS = 10;

/**
 * Per-user rate limits shared by every gateway instance and by REST and Socket.IO alike (rate-limiter-flexible on
 * Redis: one script call per request). Each limit is a per-second window plus, for bursts, a second pool of
 * `burst - perSecond` points refilled every 10 s (the library's BurstyRateLimiter). While Redis is unreachable
 * each instance falls back to an in-memory limiter of the same size, so limits hold (per instance) meanwhile.
 */
@Injectable()
export class RateLimits {
  private readonly logger = new Logger('RateLimits');
  private readonly limiters: Record<RateLimitKind, RateLimiterAbstract | BurstyRateLimiter>;
  private readonly limited: Counter<'kind'>;

  constructor(
    redis: RedisService,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.limited = new Counter({
      name: 'parley_rate_limited_total',
      help: 'Requests refused with Rate limit exceeded, by kind (REST and Socket.IO together)',
      labelNames: ['kind'],
      registers: [registry],
    });
    const window = (kind: string, points: number, duration: number) =>
      new RateLimiterRedis({
        storeClient: redis.commands,
        keyPrefix: redis.key(`rl:${kind}`),
        points,
        duration,
        insuranceLimiter: new RateLimiterMemory({ points, duration }),
      });
    const perUser = (kind: RateLimitKind, perSecond: number, burst: number) =>
      burst > perSecond
        ? new BurstyRateLimiter(
            window(kind, perSecond, 1),
            window(`${kind}:burst`, burst - perSecond, BURST_WINDOW_SECONDS),
          )
        : window(kind, perSecond, 1);
    this.limiters = {
      messages: perUser('messages', config.rateLimitMessagesPerSecond, config.rateLimitMessagesBurst),
      typing: perUser('typing', config.rateLimitTypingPerSecond, config.rateLimitTypingBurst),
      joins: perUser('joins', config.rateLimitJoinsPerSecond, config.rateLimitJoinsBurst),
      leaves: perUser('leaves', config.rateLimitLeavesPerSecond, config.rateLimitLeavesBurst),
      readMarks: perUser('readMarks', config.rateLimitReadMarksPerSecond, config.rateLimitReadMarksBurst),
      authenticate: perUser(
        'authenticate',
        config.rateLimitAuthenticatePerSecond,
        config.rateLimitAuthenticateBurst,
      ),
      history: perUser('history', config.rateLimitHistoryPerSecond, config.rateLimitHistoryBurst),
      lookups: perUser('lookups', config.rateLimitLookupsPerSecond, config.rateLimitLookupsBurst),
      conversations: window('conversations', config.rateLimitConversationsPerMinute, 60),
      groupChanges: perUser(
        'groupChanges',
        config.rateLimitGroupChangesPerSecond,
        config.rateLimitGroupChangesBurst,
      ),
      settings: perUser('settings', config.rateLimitSettingsPerSecond, config.rateLimitSettingsBurst),
      messageChanges: perUser(
        'messageChanges',
        config.rateLimitMessageChangesPerSecond,
        config.rateLimitMessageChangesBurst,
      ),
    };
  }

  /** Takes one point of the user's `kind` budget; throws `Rate limit exceeded` (429) when there is none. */
  async consume(kind: RateLimitKind, userId: Id): Promise<void> {
    try {
      await this.limiters[kind].consume(String(userId));
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) {
        // Neither Redis nor the in-memory fallback answered: let it through; what follows fails on its own.
        this.logger.warn(`Rate limit not checked (${(res as Error).message})`);
        return;
      }
      this.limited.inc({ kind });
      throw AppErrors.rateLimited(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
    }
  }
}
