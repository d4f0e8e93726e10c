import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';

/**
 * Redis's clock, as seen from this process. Stream entry ids carry Redis's time at XADD, so waits and deadlines
 * measured against this clock do not depend on the hosts' clocks agreeing. It runs on the monotonic clock plus an
 * offset, so a step of the local wall clock (NTP, a VM resumed) between two syncs changes nothing.
 */
export class RedisClock {
  /** Until the first sync: the local wall clock (timeOrigin is its value when performance.now() was 0). */
  private offsetMs = performance.timeOrigin;

  now(): number {
    return performance.now() + this.offsetMs;
  }

  /** Redis read its clock somewhere during the TIME round trip: the midpoint is off by at most half of it. */
  async sync(redis: Redis): Promise<void> {
    const sent = performance.now();
    const [seconds, micros] = await redis.time();
    const received = performance.now();
    this.offsetMs = Number(seconds) * 1000 + Number(micros) / 1000 - (sent + received) / 2;
  }
}
