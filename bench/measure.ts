// One run of the 1:1 load on one rig: both load workers start the same open-loop schedule at an agreed time,
// the CPU of the window is tracked (cpu.ts), the workers' samples are merged into percentiles, stalls and a
// timeline (latency.ts), Redis's and Postgres's counters are read at both ends of the window (backend-work.ts), and
// the system is left to settle before the next run.
import { backendLine, backendSnapshot, backendWork } from './backend-work.js';
import { cpuFigures, CpuTracker, settle } from './cpu.js';
import { percentiles, stalls, timeline } from './latency.js';
import { mergeResults, now, sleep } from './lib.js';
import type { RunResult } from './results.js';
import { trackSpec, type Rig } from './rig.js';

/** How long a worker waits, after its last send, for acks and then deliveries before it counts the rest lost. */
const DRAIN_MS = 5000;
/** Time for the run message to reach the workers before the schedule starts. */
const START_DELAY_MS = 100;
/** A run passes at this end-to-end p99 or below (with nothing lost, duplicated or unacked). */
export const P99_LIMIT_MS = 50;
/** After a run, the system's processes are left until they use at most this much CPU above their idle level. */
const SETTLE_CORES = 0.15;

const benchStart = now();

export interface RunOptions {
  rate: number;
  warmupMs: number;
  windowMs: number;
  /** Printed with the result line (`run 1`, `warm-up`…). */
  label: string;
  order?: number;
}

export async function runOnce(rig: Rig, o: RunOptions): Promise<RunResult> {
  const tag = `r${o.rate}-${Date.now().toString(36)}`;
  const startAt = now() + START_DELAY_MS;
  const results = Promise.all(
    rig.workers.map((w) =>
      w.ask(
        {
          type: 'run',
          startAt,
          ratePerSender: o.rate / rig.senders,
          warmupMs: o.warmupMs,
          durationMs: o.windowMs,
          drainMs: DRAIN_MS,
          tag,
        },
        'result',
      ),
    ),
  );
  const windowStart = startAt + o.warmupMs;
  await sleep(windowStart - now());
  const tracker = new CpuTracker(trackSpec(rig));
  const counted = backendSnapshot(rig.sys.database);
  tracker.start();
  const before = await counted;
  await sleep(windowStart + o.windowMs - now());
  const use = tracker.stop();
  const after = await backendSnapshot(rig.sys.database);
  const r = mergeResults((await results).map((m) => m.result));

  const seconds = o.windowMs / 1000;
  const lost = Math.max(0, r.expected - r.delivered);
  const e2e = percentiles(r.e2e);
  const late = percentiles(r.late);
  const st = stalls(r.deliveredAt, windowStart, r.warmDeliveredAt);
  const result: RunResult = {
    at: Math.round((windowStart - benchStart) / 100) / 10,
    order: o.order ?? 1,
    windowMs: o.windowMs,
    sent: r.sent,
    acked: r.acked,
    unacked: r.sent - r.acked,
    delivered: r.delivered,
    lost,
    duplicated: r.duplicated,
    outOfOrder: r.outOfOrder,
    deliveredPerSecond: Math.round(r.delivered / seconds),
    e2e,
    ack: percentiles(r.ack),
    sendLate: { p99: late.p99, max: late.max },
    stalls: { count: st.count, maxGapMs: st.maxGapMs },
    cpu: cpuFigures(use, r.sent),
    backends: backendWork(before, after, r.sent, rig.idleRedisPerSecond),
    ok: r.sent > 0 && lost === 0 && r.duplicated === 0 && r.sent === r.acked && e2e.p99 <= P99_LIMIT_MS,
    stallList: st.list,
    timeline: timeline(r.deliveredAt, r.e2e, windowStart),
  };
  printRun(rig.def.name, o, result);
  // An overloaded system works through its backlog after the window: not on the next system's time.
  const waited = await settle(Object.values(rig.sys.pids), rig.idleCores + SETTLE_CORES);
  if (waited > 1000) console.log(`    (${rig.def.name} took ${(waited / 1000).toFixed(1)} s to settle)`);
  return result;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');

function printRun(name: string, o: RunOptions, r: RunResult): void {
  console.log(
    `  ${name} @ ${o.rate}/s ${o.label}: n ${r.e2e.n} sent ${r.sent} acked ${r.acked} lost ${r.lost} dup ${r.duplicated} ` +
      `ooo ${r.outOfOrder} | e2e p50 ${f1(r.e2e.p50)} p99 ${f1(r.e2e.p99)} max ${f1(r.e2e.max)} ms | ack p99 ` +
      `${f1(r.ack.p99)} | stalls ${r.stalls.count} (gap max ${f1(r.stalls.maxGapMs)}) | send late max ${f1(r.sendLate.max)} ms | ` +
      `CPU ${r.cpu.machineMsPerMessage.toFixed(2)} ms/msg (other ${r.cpu.otherPercent}%) | ${backendLine(r)} ${r.ok ? '✓' : '✗'}`,
  );
}
