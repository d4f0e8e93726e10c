import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap', () => {
    const max = (attempt: number) =>
      backoffDelay(attempt, { initialDelayMs: 100, maxDelayMs: 1_000 }, () => 0);
    expect([0, 1, 2, 3, 4, 10].map(max)).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('stays within [cap × (1 − jitter), cap]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, r, jitter) => {
          const cap = Math.min(30_000, 500 * 2 ** attempt);
          const d = backoffDelay(attempt, { jitter }, () => r);
          expect(d).toBeGreaterThanOrEqual(Math.floor(cap * (1 - jitter)));
          expect(d).toBeLessThanOrEqual(cap);
        },
      ),
    );
  });

  it('spreads clients that failed at the same moment (no thundering herd)', () => {
    const first = Array.from({ length: 1_000 }, () => backoffDelay(0, { initialDelayMs: 1_000 }));
    const buckets = new Set(first.map((d) => Math.floor(d / 50)));
    expect(Math.min(...first)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...first)).toBeLessThanOrEqual(1_000);
    expect(buckets.size).toBeGreaterThanOrEqual(9); // spread over the whole 500 ms window, not one instant
  });
});
