// The command line of `npm run bench` and the plan it makes: which systems, rates, windows and scenarios.
//   --systems baseline,seed003,parley,...   --rates 100,200,...   --extend-to 64000 (the baseline's doubling cap)
//   --duration 10 (s, each measured window at least)   --min-samples 2000 (window ≥ this many messages)
//   --warmup 1 (s before each window)   --runs 2 (runs per rate)   --pairs 100   --jit-warmup 20 (s per system)
//   --stall-rate 200 --stall-seconds 60   --idle-seconds 10
//   --group-steps 10:20,100:20,10:556   --group-sockets 200
//   --skip rates,stall,groups,connections,reconnect,history,integrations   --integrations-rate 200   --quick (short windows, few rates: a smoke test)
// A full run (no option at all) rewrites docs/benchmarks.md and bench/results/latest.json; any option makes it a
// trial, written to bench/results/<stamp>.json only.
import { parseGroupSteps } from './groups.js';
import { SYSTEMS } from './systems.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : fallback;
};
const numbers = (s: string) => s.split(',').filter(Boolean).map(Number);
const quick = argv.includes('--quick');

const systemNames = opt('systems', SYSTEMS.map((s) => s.name).join(',')).split(',');
for (const n of systemNames)
  if (!SYSTEMS.some((s) => s.name === n))
    throw new Error(`--systems: no system "${n}" (there are ${SYSTEMS.map((s) => s.name).join(', ')})`);

export const plan = {
  argv,
  quick,
  /** No option: the run that rewrites the docs. */
  full: argv.length === 0,
  systems: SYSTEMS.filter((s) => systemNames.includes(s.name)),
  /** Offered rates, messages/s over all senders, for every system. */
  rates: numbers(opt('rates', quick ? '200,1000' : '100,200,400,700,1000,1500,2000,3000')),
  /** Past the list, systems marked `extend` (the baseline) double their rate until they fail, up to this. */
  extendTo: Number(opt('extend-to', quick ? '2000' : '64000')),
  /** The summary's rate, measured for every system even past its maximum. */
  tableRate: 1000,
  /** Load before each measured window (every system is warm already: this lets the schedule get going). */
  warmupMs: Number(opt('warmup', '1')) * 1000,
  durationMs: Number(opt('duration', quick ? '3' : '10')) * 1000,
  /** Behind every p99: a window at rate r lasts max(duration, minSamples / r). */
  minSamples: Number(opt('min-samples', quick ? '300' : '2000')),
  runs: Number(opt('runs', '2')),
  pairs: Number(opt('pairs', '100')),
  /**
   * Before anything is measured each system runs this long, unrecorded, at jitWarmupRate: a server is measured as
   * it runs for days, with its hot code compiled (Parley's processes take 10–15 s of load to settle).
   */
  jitWarmupMs: Number(opt('jit-warmup', quick ? '5' : '20')) * 1000,
  jitWarmupRate: 200,
  idleMs: Number(opt('idle-seconds', quick ? '3' : '10')) * 1000,
  stallRate: Number(opt('stall-rate', '200')),
  stallMs: Number(opt('stall-seconds', quick ? '10' : '60')) * 1000,
  /**
   * Group size : offered messages/s over all groups of that size. 10 and 100 members at the same rate give the cost
   * of one more receiver; 10:556 is the target, 5,000 deliveries/s (556 × 9) in groups of 10.
   */
  groupSteps: parseGroupSteps(opt('group-steps', '10:20,100:20,10:556')),
  /** Sockets per group size (groups of 10: 20 groups; of 100: 2). */
  groupSockets: Number(opt('group-sockets', '200')),
  connectionSockets: quick ? 2000 : 10_000,
  reconnectClients: quick ? 1000 : 5000,
  historyMessages: quick ? 200_000 : 1_000_000,
  /** The rate at which webhooks and push are measured on and off (bench/integrations.ts). */
  integrationsRate: Number(opt('integrations-rate', '200')),
  skip: new Set(opt('skip', '').split(',').filter(Boolean)),
};

export type Plan = typeof plan;

/** The measured window at `rate`: at least `durationMs`, and long enough for `minSamples` messages. */
export const windowMs = (rate: number) => Math.max(plan.durationMs, Math.ceil(plan.minSamples / rate) * 1000);

/** Seconds one run of the sweep takes: warm-up, window, the workers' drain and IPC, the settling check. */
const runSeconds = (rate: number) => (plan.warmupMs + windowMs(rate)) / 1000 + 1.5;

/**
 * What the plan should take, in seconds: an upper bound for the sweep (every system passing every rate of the
 * list, plus three doublings for the extended ones), estimates from trial runs for the rest.
 */
export function plannedSeconds(): { total: number; parts: Record<string, number> } {
  const n = plan.systems.length;
  const parts: Record<string, number> = {
    'start, connect, idle': 30 + n * 10 + plan.idleMs / 1000,
    'JIT warm-up': n * (plan.jitWarmupMs / 1000 + 1),
  };
  if (!plan.skip.has('stall'))
    parts['stall runs'] =
      plan.systems.filter((s) => s.stallRun).length * ((plan.warmupMs + plan.stallMs) / 1000 + 2);
  if (!plan.skip.has('rates')) {
    const extended = plan.systems.filter((s) => s.extend).length;
    const last = plan.rates.at(-1) ?? 1000;
    parts.sweep =
      plan.runs *
      (plan.rates.reduce((a, r) => a + n * runSeconds(r), 0) +
        extended * [2, 4, 8].reduce((a, k) => a + runSeconds(last * k), 0));
  }
  if (!plan.skip.has('groups'))
    parts.groups =
      60 + plan.jitWarmupMs / 1000 + plan.durationMs / 1000 + plan.groupSteps.length * (runSeconds(100) + 5);
  if (!plan.skip.has('connections')) parts.connections = quick ? 30 : 110;
  if (!plan.skip.has('reconnect')) parts.reconnect = quick ? 25 : 60;
  if (!plan.skip.has('history')) parts.history = quick ? 30 : 100;
  if (!plan.skip.has('integrations'))
    parts.integrations =
      40 + (plan.jitWarmupMs + plan.idleMs) / 1000 + 4 * plan.runs * (runSeconds(plan.integrationsRate) + 2);
  return { total: Object.values(parts).reduce((a, b) => a + b, 0), parts };
}
