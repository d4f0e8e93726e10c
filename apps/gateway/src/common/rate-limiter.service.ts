import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Id } from '@parley/contracts';
import { METRICS_REGISTRY } from '@parley/observability';
import { Counter, type Registry } from 'prom-client';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RedisService } from '../redis/redis.service.js';

export type RateLimitKind = 'messages' | 'typing';

/**
 * A token bucket per user and kind, in Redis, so every gateway instance and both REST and Socket.IO draw from the
 * same bucket. The script refills by elapsed time (Redis's clock) and takes one token, atomically.
 */
const TOKEN_BUCKET = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (math.max(0, now - at) * rate / 1000))
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return allowed
`;

@Injectable()
export class RateLimiterService {
  private readonly logger = new Logger('RateLimiter');
  private readonly limits: Record<RateLimitKind, { perSecond: number; burst: number }>;

  private readonly limited: Counter<'kind'>;

  constructor(
    private readonly redis: RedisService,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.limited = new Counter({
      name: 'parley_rate_limited_total',
      help: 'Requests refused with Rate limit exceeded, by kind (messages over REST and Socket.IO, typing)',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.limits = {
      messages: { perSecond: config.rateLimitMessagesPerSecond, burst: config.rateLimitMessagesBurst },
      typing: { perSecond: config.rateLimitTypingPerSecond, burst: config.rateLimitTypingBurst },
    };
    this.redis.commands.defineCommand('parleyTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
  }

  /**
   * Takes one token; false when the user is over the limit. When Redis cannot be reached the request is let
   * through: whatever it does next needs Redis too and fails with its own, clearer error.
   */
  async take(kind: RateLimitKind, userId: Id): Promise<boolean> {
    const { perSecond, burst } = this.limits[kind];
    try {
      const client = this.redis.commands as unknown as {
        parleyTokenBucket(key: string, capacity: number, rate: number): Promise<number>;
      };
      const allowed =
        (await client.parleyTokenBucket(this.redis.key(`rl:${kind}:${userId}`), burst, perSecond)) === 1;
      if (!allowed) this.limited.inc({ kind });
      return allowed;
    } catch (err) {
      this.logger.warn(`Rate limit not checked (${(err as Error).message})`);
      return true;
    }
  }
}
