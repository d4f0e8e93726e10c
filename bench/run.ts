// `npm run bench`: Parley against raw Socket.IO (the ceiling) and the seed-003 design written as a team would,
// in one run, on this machine, judged against issue 15's targets. Options: bench/options.ts.
//   1. every system up at once, each with its own 2 load workers and users (bench/systems.ts, bench/rig.ts);
//   2. each system's JIT warm-up; the machine's idle CPU with everything up;
//   3. the stall runs (60 s at 200 msg/s: bench/stall.ts);
//   4. the rate sweep, systems interleaved, every rate twice (bench/sweep.ts, one run: bench/measure.ts);
//   5. groups, connections, reconnect, history, integrations (webhooks, push), each on a Parley of its own;
//   6. bench/results/<stamp>.json; a full run also latest.json and docs/benchmarks.md (bench/report.ts).
import { closeBackendReadings, openBackendReadings } from './backend-work.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { TEST_JWT_SECRET } from '../test/support/cluster.js';
import { connections } from './connections.js';
import { groupScenario } from './groups.js';
import { history } from './history.js';
import { integrations } from './integrations.js';
import { now } from './lib.js';
import { machineInfo } from './machine.js';
import { runOnce } from './measure.js';
import { plan, plannedSeconds } from './options.js';
import { reconnect } from './reconnect.js';
import { writeReport } from './report.js';
import { resultsJson, type BenchResults } from './results.js';
import { closeRig, idleReading, setUpRigs } from './rig.js';
import { stallRuns } from './stall.js';
import { figures, sweep } from './sweep.js';
import { startParley } from './systems.js';
import { printTargets, targets } from './targets.js';

const started = now();
const planned = plannedSeconds();
console.log(
  `Planned: about ${Math.ceil(planned.total / 60)} min at most (${Object.entries(planned.parts)
    .map(([k, v]) => `${k} ${Math.round(v)} s`)
    .join(', ')}; the sweep assumes every system passes every rate)` +
    (plan.full ? '' : '; not a full run: docs/benchmarks.md stays as it is'),
);

const results: BenchResults = {
  format: 2,
  date: new Date().toISOString(),
  command: `npm run bench${plan.argv.length ? ` -- ${plan.argv.join(' ')}` : ''}`,
  quick: plan.quick,
  full: plan.full,
  config: {
    rates: plan.rates,
    warmupMs: plan.warmupMs,
    durationMs: plan.durationMs,
    minSamples: plan.minSamples,
    runsPerRate: plan.runs,
    jitWarmupMs: plan.jitWarmupMs,
    jitWarmupRate: plan.jitWarmupRate,
    pairs: plan.pairs,
    loadWorkersPerSystem: 2,
    tableRate: plan.tableRate,
  },
  machine: await machineInfo(),
  systems: {},
};

// The Redis and Postgres readings' connections, before the systems take every Postgres connection slot.
await openBackendReadings();

// 1–4: every system up for the whole sweep.
if (!plan.skip.has('rates') || !plan.skip.has('stall')) {
  console.log(`\n[systems] starting ${plan.systems.map((s) => s.name).join(', ')}`);
  const { rigs, errors } = await setUpRigs(plan.systems, plan.pairs);
  for (const { name, label, gateways, chats, color } of plan.systems)
    results.systems[name] = {
      label,
      gateways,
      chats,
      color,
      steps: [],
      maxSustained: 0,
      error: errors.get(name),
    };
  try {
    console.log(`\n[warm-up] ${plan.jitWarmupMs / 1000} s at ${plan.jitWarmupRate}/s per system, unrecorded`);
    for (const rig of rigs) {
      const run = await runOnce(rig, {
        rate: plan.jitWarmupRate,
        warmupMs: 0,
        windowMs: plan.jitWarmupMs,
        label: 'JIT warm-up',
      });
      results.systems[rig.def.name]!.warmup = figures(run);
    }
    results.idle = await idleReading(rigs, plan.idleMs);
    if (!plan.skip.has('stall')) results.stall = await stallRuns(rigs);
    if (!plan.skip.has('rates')) await sweep(rigs, results.systems);
  } finally {
    for (const rig of rigs) await closeRig(rig);
  }
}

// 5: the scenarios of one Parley each.
if (!plan.skip.has('groups'))
  results.groups = await groupScenario(() => startParley({ gateways: 2, chats: 2 }), {
    steps: plan.groupSteps,
    sockets: plan.groupSockets,
    warmupMs: plan.warmupMs,
    durationMs: plan.durationMs,
    minSamples: plan.minSamples,
    // Split between the group sizes, so that the scenario warms up as long as one system does.
    jitWarmupMs: plan.jitWarmupMs / new Set(plan.groupSteps.map((s) => s.members)).size,
    gateways: 2,
    chats: 2,
    jwtSecret: TEST_JWT_SECRET,
  });
if (!plan.skip.has('connections')) results.connections = await connections(plan.connectionSockets);
if (!plan.skip.has('reconnect')) results.reconnect = await reconnect(plan.reconnectClients);
if (!plan.skip.has('history')) results.history = await history(plan.historyMessages);
if (!plan.skip.has('integrations')) results.integrations = await integrations(plan.integrationsRate);

// 6: the results.
results.seconds = Math.round((now() - started) / 1000);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const stamp = results.date.replace(/[:.]/g, '-');
const json = resultsJson(results);
writeFileSync(new URL(`./results/${stamp}.json`, import.meta.url), json);
if (plan.full) {
  writeFileSync(new URL('./results/latest.json', import.meta.url), json);
  writeReport(results);
}
printTargets(targets(results));
console.log(
  `\nDone in ${results.seconds} s (planned ≤ ${Math.round(planned.total)} s): bench/results/${stamp}.json` +
    (plan.full ? ', docs/benchmarks.md' : ' (not a full run: docs not rewritten)'),
);
await closeBackendReadings();
process.exit(0);
