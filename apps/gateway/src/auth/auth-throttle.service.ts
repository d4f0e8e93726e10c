import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY } from '@parley/observability';
import { Counter, type Registry } from 'prom-client';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppErrors } from '../common/app.error.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RedisService } from '../redis/redis.service.js';

/**
 * Brute-force protection of the auth endpoints, after rate-limiter-flexible's login recipe: every register,
 * login, refresh and logout takes a point of its client address's per-minute budget, and every failed login a
 * point of its username's; a username out of points is refused before its password is even checked, so guessing
 * stops costing argon2 time too. A success clears the username's failures. Both answer 429
 * `Too many attempts, retry later` with `Retry-After`, and say nothing about whether the username exists.
 */
@Injectable()
export class AuthThrottle {
  private readonly perAddress: RateLimiterRedis;
  private readonly loginFailures: RateLimiterRedis;
  private readonly refused: Counter<'reason'>;

  constructor(
    redis: RedisService,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    const limiter = (name: string, points: number, duration: number) =>
      new RateLimiterRedis({
        storeClient: redis.commands,
        keyPrefix: redis.key(`rl:${name}`),
        points,
        duration,
        insuranceLimiter: new RateLimiterMemory({ points, duration }),
      });
    this.perAddress = limiter('auth-address', config.authPerIpPerMinute, 60);
    this.loginFailures = limiter(
      'login-failures',
      config.loginFailuresPerUsername,
      config.loginFailuresWindowSeconds,
    );
    this.refused = new Counter({
      name: 'parley_auth_throttled_total',
      help: 'Auth requests refused with Too many attempts: by client address, or by failed logins of a username',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  /** One auth request from `address`. */
  async attempt(address: string): Promise<void> {
    try {
      await this.perAddress.consume(address);
    } catch (res) {
      this.refuse('address', res);
    }
  }

  /** Before checking a password: refuses a username whose failures used its budget up. */
  async beforeLogin(username: string): Promise<void> {
    const res = await this.loginFailures.get(usernameKey(username)).catch(() => null);
    if (res && res.consumedPoints >= this.loginFailures.points) this.refuse('username', res);
  }

  async loginFailed(username: string): Promise<void> {
    await this.loginFailures.consume(usernameKey(username)).catch(() => undefined);
  }

  async loginSucceeded(username: string): Promise<void> {
    await this.loginFailures.delete(usernameKey(username)).catch(() => undefined);
  }

  private refuse(reason: 'address' | 'username', res: unknown): never {
    if (!(res instanceof RateLimiterRes)) throw res; // neither Redis nor the in-memory fallback answered
    this.refused.inc({ reason });
    throw AppErrors.tooManyAttempts(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
  }
}

/** Usernames are unique regardless of case, so are their failures. */
function usernameKey(username: string): string {
  return username.toLowerCase();
}
