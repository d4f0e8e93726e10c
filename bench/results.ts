// The shape of bench/results/<stamp>.json: what one `npm run bench` measured (the report, bench/report.ts, is
// made from it alone).
import type { BackendWork } from './backend-work.js';
import type { CpuFigures } from './cpu.js';
import type { Percentiles, Stalls, Timeline } from './latency.js';

/** The figures of one run of one system at one rate (or their median over the runs of a step). */
export interface RunFigures {
  sent: number;
  acked: number;
  unacked: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  deliveredPerSecond: number;
  /** Scheduled send → `receive-message` at the other member, ms. */
  e2e: Percentiles;
  /** Scheduled send → ack, ms. */
  ack: Percentiles;
  /** How late the load workers' send loops made each measured emit, ms. */
  sendLate: { p99: number; max: number };
  stalls: { count: number; maxGapMs: number };
  cpu: CpuFigures;
  /** Redis commands and Postgres work per message sent over the window (bench/backend-work.ts). */
  backends?: BackendWork;
}

/** One run: its figures, where it sat in the interleaved order, its stalls and latency timeline. */
export interface RunResult extends RunFigures {
  /** Seconds after the bench started. */
  at: number;
  /** 1-based position among the runs of its round (systems alternate their order between the two runs). */
  order: number;
  windowMs: number;
  /** 0 lost, 0 duplicated, 0 unacked and e2e p99 ≤ 50 ms. */
  ok: boolean;
  stallList: Stalls['list'];
  timeline: Timeline;
}

/** One system at one offered rate: every run (2), and the median of each figure. */
export interface RateStep {
  offered: number;
  windowMs: number;
  runs: RunResult[];
  median: RunFigures;
  /** Every run with 0 lost, 0 duplicated, 0 unacked, and the median e2e p99 ≤ 50 ms. */
  sustained: boolean;
  /** The bisection between the system's last sustained rate and its first failed one. */
  bisect?: boolean;
  /** Measured after the system had failed a lower rate (the summary's 1,000 messages/s). */
  pastMax?: boolean;
}

export interface SystemResult {
  label: string;
  gateways: number;
  chats: number;
  color: string;
  /** Why it is missing from the sweep, if it could not start. */
  error?: string;
  /** The unrecorded JIT warm-up run, for reference. */
  warmup?: RunFigures;
  steps: RateStep[];
  /** The highest offered rate sustained; `topped` when that was the highest rate tried. */
  maxSustained: number;
  topped?: boolean;
}

/** Every process of every system up, connected, nothing sent. */
export interface IdleResult {
  seconds: number;
  machinePercent: number;
  otherPercent: number;
  /** Per system: its processes and load workers, % of one core. */
  bySystem: Record<string, number>;
  /** Postgres (every system database), Redis, the orchestrator. */
  shared: Record<string, number>;
  /** Commands/s the Redis server ran meanwhile (every system's timers and pollers, and anyone else's). */
  redisCommandsPerSecond?: number;
}

/** One step of the group scenario: groups of one size under one offered rate. */
export interface GroupStep {
  members: number;
  groups: number;
  /** Messages/s offered over all the groups of this size, each from a member picked at random. */
  offered: number;
  windowMs: number;
  sent: number;
  acked: number;
  unacked: number;
  /** Receipts due: every other member's socket once per acked message. */
  expected: number;
  delivered: number;
  missing: number;
  duplicated: number;
  /** `receive-message` at the sending socket or at a socket outside the conversation. */
  misdelivered: number;
  /** Receipts of messages whose send was not acknowledged. */
  deliveredUnacked: number;
  outOfOrder: number;
  deliveredPerSecond: number;
  e2e: Percentiles;
  ack: Percentiles;
  sendLate: { p99: number; max: number };
  stalls: Stalls;
  timeline: Timeline;
  cpu: CpuFigures;
  /** Redis commands and Postgres work per message sent over the window (bench/backend-work.ts). */
  backends?: BackendWork;
  /** Busy CPU of the whole machine per message sent and per delivery, ms. */
  cpuMsPerSent: number;
  cpuMsPerDelivered: number;
  /** The same two, less what the machine spends idle with every member connected (GroupResults.idle). */
  cpuMsPerSentAboveIdle: number;
  cpuMsPerDeliveredAboveIdle: number;
  /** `conversation-updated` frames per acked message, over all member sockets. */
  updatesPerMessage: number;
  /** Distinct member views those frames carried per message: the adapter broadcasts of `conversation-updated`. */
  viewsPerMessage: number;
  /** Every measured message acked and received exactly once by each other member's socket, and by no other. */
  exact: boolean;
}

/** What one more receiving member costs: two steps at the same rate, groups of two sizes. */
export interface GroupFanout {
  offered: number;
  fromMembers: number;
  toMembers: number;
  /** Measured deliveries per message sent, larger groups less smaller. */
  extraDeliveriesPerMessage: number;
  /** Busy CPU of the machine per extra delivery, ms. */
  cpuMsPerDelivery: number;
  /** The same, by kind of process (gateways, chats, postgres, redis, load workers, other), ms. */
  byKind: Record<string, number>;
}

/** The group scenario's processes with every member connected and joined, nothing sent. */
export interface GroupIdle {
  /** Per tracked process, % of one core. */
  processes: Record<string, number>;
  /** The machine, % of one core. */
  machinePercent: number;
  otherPercent: number;
  /** Commands/s the Redis server ran meanwhile. */
  redisCommandsPerSecond?: number;
}

export interface GroupResults {
  gateways: number;
  chats: number;
  warmupMs: number;
  durationMs: number;
  /** Unrecorded load before the first step of each group size. */
  jitWarmupMs: number;
  idle: GroupIdle;
  steps: GroupStep[];
  fanout: GroupFanout[];
}

export interface ConnectionResult {
  connected: number;
  failed: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  bytesPerSocket: number;
  /** Heap in use per socket, both readings after a full GC. */
  heapBytesPerSocket?: number;
  connectSeconds: number;
}

export interface BenchResults {
  /** 2: open loop, two runs per rate, systems interleaved, machine CPU (issue 15). Absent: the older format. */
  format: 2;
  date: string;
  command: string;
  quick: boolean;
  full: boolean;
  seconds?: number;
  config: {
    rates: number[];
    warmupMs: number;
    durationMs: number;
    /** Each measured window lasts max(durationMs, minSamples / rate). */
    minSamples: number;
    runsPerRate: number;
    jitWarmupMs: number;
    jitWarmupRate: number;
    pairs: number;
    loadWorkersPerSystem: number;
    tableRate: number;
  };
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    kernel: string;
    node: string;
    postgres: string;
    redis: string;
  };
  idle?: IdleResult;
  /** Long runs at one rate, one per system, after the JIT warm-up: stalls and their timeline. */
  stall?: { rate: number; windowMs: number; systems: Record<string, RunResult> };
  systems: Record<string, SystemResult>;
  groups?: GroupResults;
  connections?: { sockets: number; systems: Partial<Record<'baseline' | 'parley', ConnectionResult>> };
  reconnect?: {
    clients: number;
    rejoined: number;
    /** False when the wait ended before every client was back. */
    complete?: boolean;
    /** Connection errors and disconnect reasons the clients saw, by message. */
    events?: Record<string, number>;
    drainSeconds: number;
    secondsAfterReady: number;
    secondsAfterStop: number;
  };
  /** What webhooks and push cost: two Parleys, their integrations switched between runs (bench/integrations.ts). */
  integrations?: {
    rate: number;
    gateways: number;
    chats: number;
    variants: {
      name: string;
      label: string;
      /** Which of the two Parleys (push off, push on). */
      system: string;
      /** The 1:1 Socket.IO load, or REST sends to offline members (e2e is then the send's answer). */
      load: 'socket' | 'rest';
      median: RunFigures;
      /** Webhook requests or pushes per message sent, each run. */
      requestsPerMessage: number[];
      runs: { machineMsPerMessage: number; e2eP99: number; otherPercent: number; ok: boolean }[];
    }[];
  };
  history?: {
    messages: number;
    /** `GET /health/live` on the same gateway, the same way: what any REST request costs here. */
    floor: Percentiles;
    pages: Record<string, Percentiles>;
    list: Record<string, Percentiles>;
    plans: Record<string, { indexOnly: boolean; executionMs: number }>;
  };
}

/** The results as the file holds them: indented, but each array of numbers (a timeline) on one line. */
export function resultsJson(r: BenchResults): string {
  return `${JSON.stringify(r, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, inner: string) => `[${inner.replace(/\s+/g, '')}]`)}\n`;
}
