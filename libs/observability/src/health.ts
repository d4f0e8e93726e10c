import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import type { LifecycleService } from './lifecycle.service.js';

/** Redis answers PING within `timeoutMs`. */
export async function redisHealth(
  indicator: HealthIndicatorService,
  key: string,
  redis: Redis | undefined,
  timeoutMs = 1000,
): Promise<HealthIndicatorResult> {
  const check = indicator.check(key);
  if (!redis || redis.status !== 'ready')
    return check.down({ message: `not connected (${redis?.status ?? 'absent'})` });
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no PONG within ${timeoutMs} ms`)), timeoutMs),
      ),
    ]);
    return check.up();
  } catch (err) {
    return check.down({ message: err instanceof Error ? err.message : String(err) });
  }
}

/** Down while the app drains for shutdown. */
export function notDrainingHealth(
  indicator: HealthIndicatorService,
  lifecycle: LifecycleService,
): HealthIndicatorResult {
  const check = indicator.check('lifecycle');
  return lifecycle.draining ? check.down({ message: 'draining for shutdown' }) : check.up();
}
