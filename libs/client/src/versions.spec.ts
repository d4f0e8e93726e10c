import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VersionTracker } from './versions.js';

describe('VersionTracker', () => {
  it('knows nothing until started, then moves up through the versions seen without a gap', () => {
    const t = new VersionTracker();
    t.see(3);
    expect(t.version).toBeUndefined();
    expect(t.gap()).toBeUndefined(); // no gap before a start point
    t.complete(1);
    expect(t.version).toBe(1);
    expect(t.gap()).toEqual({ from: 2, to: 2 });
    t.see(2);
    expect(t.version).toBe(3);
    expect(t.gap()).toBeUndefined();
    t.complete(2); // never moves back
    expect(t.version).toBe(3);
  });

  it('a version heard of (conversation-updated) is a gap until seen or completed', () => {
    const t = new VersionTracker();
    t.complete(5);
    t.hear(8);
    expect(t.gap()).toEqual({ from: 6, to: 8 });
    t.see(7);
    expect(t.gap()).toEqual({ from: 6, to: 6 });
    t.complete(7); // a catch-up through 7 (6 was overtaken)
    expect(t.gap()).toEqual({ from: 8, to: 8 });
    t.see(8);
    expect([t.version, t.heard, t.gap()]).toEqual([8, 8, undefined]);
  });

  it('ends at the highest version, with no gap, whatever order every version arrives in (repeats included)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            start: fc.integer({ min: 0, max: n }),
            arrivals: fc
              .tuple(
                fc.shuffledSubarray(
                  Array.from({ length: n }, (_, i) => i + 1),
                  { minLength: n, maxLength: n },
                ),
                fc.array(fc.integer({ min: 1, max: Math.max(1, n) }), { maxLength: 10 }),
              )
              .map(([all, repeats]) => [...all, ...repeats.filter((v) => v <= n)]),
          }),
        ),
        ({ n, start, arrivals }) => {
          const t = new VersionTracker();
          t.complete(start);
          for (const v of arrivals) {
            t.see(v);
            const gap = t.gap();
            if (gap) expect(gap.from).toBe(t.version! + 1);
          }
          expect(t.version).toBe(n === 0 ? start : Math.max(start, n));
          expect(t.gap()).toBeUndefined();
        },
      ),
    );
  });
});
