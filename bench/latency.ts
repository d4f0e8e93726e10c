// What the orchestrator makes of the load workers' raw samples: percentiles, stalls (gaps in the deliveries of a
// whole system, every receiver merged) and a compact timeline that locates them.

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Samples behind the figures. */
  n: number;
}

export function percentiles(values: ArrayLike<number>): Percentiles {
  if (values.length === 0) return { p50: NaN, p95: NaN, p99: NaN, max: NaN, n: 0 };
  const s = Float64Array.from(values).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1]!, n: s.length };
}

/** A gap of this long or more between two consecutive deliveries of a system is a stall. */
export const STALL_GAP_MS = 100;
/** The timeline's bucket. */
export const BUCKET_MS = 100;
/** Stalls kept by their start time (the count is of all). */
const STALLS_KEPT = 50;

export interface Stalls {
  count: number;
  /** The longest gap between consecutive deliveries, ms (a stall or not). */
  maxGapMs: number;
  /** Each stall: when it began (ms after the measured window's start) and how long nothing was delivered. */
  list: { atMs: number; gapMs: number }[];
}

/**
 * Gaps of STALL_GAP_MS or more between consecutive deliveries (absolute ms, any order) that end at or after `from`,
 * the measured window's start. `earlier` are the same run's deliveries of messages sent before the window (its
 * warm-up): a gap that began then is seen, and a backlog still being delivered is not taken for a stall.
 */
export function stalls(
  deliveredAt: ArrayLike<number>,
  from: number,
  earlier: ArrayLike<number> = [],
): Stalls {
  const t = new Float64Array(deliveredAt.length + earlier.length);
  t.set(Float64Array.from(deliveredAt));
  t.set(Float64Array.from(earlier), deliveredAt.length);
  t.sort();
  const out: Stalls = { count: 0, maxGapMs: 0, list: [] };
  for (let i = 1; i < t.length; i++) {
    if (t[i]! < from) continue;
    const gap = t[i]! - t[i - 1]!;
    if (gap > out.maxGapMs) out.maxGapMs = gap;
    if (gap < STALL_GAP_MS) continue;
    out.count++;
    if (out.list.length < STALLS_KEPT) out.list.push({ atMs: round1(t[i - 1]! - from), gapMs: round1(gap) });
  }
  out.maxGapMs = round1(out.maxGapMs);
  return out;
}

/** Per BUCKET_MS of delivery time from the window's start: deliveries, and their highest latency (ms). */
export interface Timeline {
  bucketMs: number;
  count: number[];
  maxMs: number[];
}

export function timeline(deliveredAt: ArrayLike<number>, latency: ArrayLike<number>, from: number): Timeline {
  const count: number[] = [];
  const maxMs: number[] = [];
  for (let i = 0; i < deliveredAt.length; i++) {
    const b = Math.max(0, Math.floor((deliveredAt[i]! - from) / BUCKET_MS));
    while (count.length <= b) {
      count.push(0);
      maxMs.push(0);
    }
    count[b]!++;
    maxMs[b] = Math.max(maxMs[b]!, round1(latency[i]!));
  }
  return { bucketMs: BUCKET_MS, count, maxMs };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** The median of each numeric figure over several runs of one step (for two runs: their mean). */
export function medianOf<T>(runs: T[]): T {
  const first = runs[0];
  if (typeof first === 'number') {
    const s = (runs as number[]).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    if (s.length === 0) return NaN as T;
    const mid = s.length >> 1;
    return (s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2) as T;
  }
  if (first && typeof first === 'object' && !Array.isArray(first)) {
    const keys = new Set(runs.flatMap((r) => Object.keys(r as object)));
    return Object.fromEntries(
      [...keys].map((k) => [k, medianOf(runs.map((r) => (r as Record<string, unknown>)[k]))]),
    ) as T;
  }
  return first as T; // strings, booleans: the first run's
}
