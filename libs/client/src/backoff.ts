/** Reconnection delays: exponential, capped, with jitter so that clients that lost the same gateway spread out. */
export interface BackoffOptions {
  /** The first retry waits about this long (ms). Default 500. */
  initialDelayMs?: number;
  /** No wait is longer than this (ms). Default 30 000. */
  maxDelayMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /**
   * Share of each delay that is random, 0..1. Default 0.5: attempt n waits between half and all of
   * `min(maxDelayMs, initialDelayMs * factor^n)`. 1 is "full jitter" (0 to the cap).
   */
  jitter?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.5,
};

/** The delay before retry number `attempt` (0 for the first retry). `random` returns values in [0, 1). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const { initialDelayMs, maxDelayMs, factor, jitter } = { ...DEFAULT_BACKOFF, ...options };
  const cap = Math.min(maxDelayMs, initialDelayMs * Math.pow(factor, Math.max(0, attempt)));
  const share = Math.min(1, Math.max(0, jitter));
  return Math.round(cap * (1 - share * random()));
}
