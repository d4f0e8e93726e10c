// The stall run: one long window at a modest rate (60 s at 200 msg/s) on each system marked `stallRun`, in turn,
// after their JIT warm-up: the issue's "no stall" target (max ≤ 100 ms, p99 ≤ 25 ms on Parley 2 + 2), with every
// gap of 100 ms or more between deliveries and a 100 ms timeline to find them in.
import { runOnce } from './measure.js';
import { plan } from './options.js';
import type { BenchResults } from './results.js';
import type { Rig } from './rig.js';

export async function stallRuns(rigs: Rig[]): Promise<NonNullable<BenchResults['stall']>> {
  const chosen = rigs.filter((r) => r.def.stallRun);
  console.log(
    `\n[stall] ${plan.stallMs / 1000} s at ${plan.stallRate}/s on ${chosen.map((r) => r.def.name).join(', ')}`,
  );
  const out: NonNullable<BenchResults['stall']> = {
    rate: plan.stallRate,
    windowMs: plan.stallMs,
    systems: {},
  };
  for (const [i, rig] of chosen.entries()) {
    const r = await runOnce(rig, {
      rate: plan.stallRate,
      warmupMs: plan.warmupMs,
      windowMs: plan.stallMs,
      label: 'stall run',
      order: i + 1,
    });
    out.systems[rig.def.name] = r;
    if (r.stallList.length > 0)
      console.log(
        `    stalls at ${r.stallList
          .slice(0, 10)
          .map((s) => `${(s.atMs / 1000).toFixed(1)} s (${s.gapMs.toFixed(0)} ms)`)
          .join(', ')}`,
      );
  }
  return out;
}
