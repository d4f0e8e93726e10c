/**
 * How long each pattern's handler typically takes when it succeeds: an exponentially weighted moving average, so
 * it follows a database that slows down under load without a table of samples per pattern.
 */
export class HandlingTimes {
  private readonly byPattern = new Map<string, { averageMs: number; samples: number }>();

  constructor(
    /** Below this many samples the average says too little to refuse anyone on its word. */
    private readonly minSamples = 20,
    /** Weight of the newest sample: about the last 1 / weight samples count. */
    private readonly weight = 0.1,
  ) {}

  record(pattern: string, ms: number): void {
    const stats = this.byPattern.get(pattern);
    if (!stats) {
      this.byPattern.set(pattern, { averageMs: ms, samples: 1 });
      return;
    }
    stats.averageMs += this.weight * (ms - stats.averageMs);
    stats.samples++;
  }

  /** The average handling time, ms, once there are enough samples to trust it. */
  typicalMs(pattern: string): number | undefined {
    const stats = this.byPattern.get(pattern);
    return stats && stats.samples >= this.minSamples ? stats.averageMs : undefined;
  }
}
