// The rate sweep, every system interleaved: for each offered rate, each system in turn, twice (the order reversed
// for the second run), so that the machine's drift within minutes hits every system alike. A system that fails a
// rate gets one bisection between its last sustained rate and that one, then leaves the sweep; the others go on.
// Systems marked `extend` (the baseline) keep doubling their rate past the list until they fail. Every system is
// measured at the summary's rate (1,000 messages/s), past its maximum if need be.
import { alignCommands } from './backend-work.js';
import { medianOf } from './latency.js';
import { P99_LIMIT_MS, runOnce } from './measure.js';
import { plan, windowMs } from './options.js';
import type { RateStep, RunFigures, RunResult, SystemResult } from './results.js';
import type { Rig } from './rig.js';

interface Entry {
  rig: Rig;
  rate: number;
  bisect?: boolean;
  pastMax?: boolean;
}

export async function sweep(rigs: Rig[], out: Record<string, SystemResult>): Promise<void> {
  const lastPass = new Map(rigs.map((r) => [r, 0]));
  const failed = new Set<Rig>();
  const record = (e: Entry, step: RateStep) => {
    const res = out[e.rig.def.name]!;
    res.steps.push(step);
    res.steps.sort((a, b) => a.offered - b.offered);
    if (e.pastMax) return;
    if (step.sustained) lastPass.set(e.rig, Math.max(lastPass.get(e.rig)!, e.rate));
    res.maxSustained = lastPass.get(e.rig)!;
  };

  for (let i = 0, rate = plan.rates[0]!; ; i++) {
    const listed = i < plan.rates.length;
    rate = listed ? plan.rates[i]! : rate * 2;
    if (!listed && rate > plan.extendTo) break;
    const active = rigs.filter((r) => !failed.has(r) && (listed || r.def.extend));
    if (!listed && active.length === 0) break;
    const entries: Entry[] = active.map((rig) => ({ rig, rate }));
    if (rate === plan.tableRate)
      for (const rig of rigs) if (failed.has(rig)) entries.push({ rig, rate, pastMax: true });
    if (entries.length === 0) continue;
    console.log(`\n[rates] ${rate}/s: ${entries.map((e) => e.rig.def.name).join(', ')}`);
    const steps = await round(entries);
    const bisects: Entry[] = [];
    entries.forEach((e, k) => {
      record(e, steps[k]!);
      if (e.pastMax || steps[k]!.sustained) return;
      failed.add(e.rig);
      // One bisection step between the last sustained rate and this one.
      const low = lastPass.get(e.rig)!;
      const grain = rate <= 1000 ? 50 : 100;
      const mid = Math.round((low + rate) / 2 / grain) * grain;
      if (mid > low && mid < rate) bisects.push({ rig: e.rig, rate: mid, bisect: true });
    });
    if (bisects.length > 0) {
      console.log(`\n[rates] bisection: ${bisects.map((e) => `${e.rig.def.name} @ ${e.rate}/s`).join(', ')}`);
      const mids = await round(bisects);
      bisects.forEach((e, k) => record(e, mids[k]!));
    }
  }
  for (const rig of rigs) if (!failed.has(rig)) out[rig.def.name]!.topped = true;
}

/** `plan.runs` runs of every entry, in turn, the order reversed from one run to the next. */
async function round(entries: Entry[]): Promise<RateStep[]> {
  const runs: RunResult[][] = entries.map(() => []);
  for (let k = 0; k < plan.runs; k++) {
    const order = entries.map((_, i) => i);
    if (k % 2 === 1) order.reverse();
    for (const [pos, i] of order.entries()) {
      const e = entries[i]!;
      runs[i]!.push(
        await runOnce(e.rig, {
          rate: e.rate,
          warmupMs: plan.warmupMs,
          windowMs: windowMs(e.rate),
          label: `run ${k + 1}/${plan.runs}${e.bisect ? ' (bisection)' : ''}${e.pastMax ? ' (past its max)' : ''}`,
          order: pos + 1,
        }),
      );
    }
  }
  return entries.map((e, i) => {
    const step = combine(e, runs[i]!);
    const m = step.median;
    console.log(
      `  → ${e.rig.def.name} @ ${e.rate}/s, median of ${plan.runs}: e2e p50 ${m.e2e.p50.toFixed(1)} p99 ${m.e2e.p99.toFixed(1)} ` +
        `max ${m.e2e.max.toFixed(1)} ms, stalls ${m.stalls.count}, CPU ${m.cpu.machineMsPerMessage.toFixed(2)} ms/msg ` +
        `${step.sustained ? '✓ sustained' : '✗'}`,
    );
    return step;
  });
}

/** The figures of a run, without its timeline and stall list. */
export function figures(r: RunResult): RunFigures {
  const { at: _at, order: _order, windowMs: _w, ok: _ok, stallList: _s, timeline: _t, ...rest } = r;
  return rest;
}

function combine(e: Entry, runs: RunResult[]): RateStep {
  const median = medianOf(alignCommands(runs.map(figures)));
  const clean = runs.every((r) => r.sent > 0 && r.lost === 0 && r.duplicated === 0 && r.unacked === 0);
  return {
    offered: e.rate,
    windowMs: windowMs(e.rate),
    runs,
    median,
    sustained: clean && median.e2e.p99 <= P99_LIMIT_MS,
    ...(e.bisect ? { bisect: true } : {}),
    ...(e.pastMax ? { pastMax: true } : {}),
  };
}
