// The capacity plan of docs/scaling.md, recomputed from the benchmark's JSON: how many gateways, chats services,
// Redis shards and how much Postgres serve USERS connected users sending MESSAGES_PER_SECOND, for 1:1
// conversations and groups of 10 and 100, and which resource runs out first.
//   npx tsx tools/capacity-plan.ts [--at-saturation] [bench-json …]
// Each measured figure is taken from the first file given that has it (default: bench/results/latest.json, the
// last full run, then the newest other bench/results/*.json), and printed with the file and the field it came from.
// Everything else is an assumption below, named, with why.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BackendWork } from '../bench/backend-work.js';
import type { BenchResults, GroupStep, RateStep } from '../bench/results.js';

/** What the plan is for (the figures). */
export const TARGET = { users: 1_000_000, messagesPerSecond: 50_000 };

export const ASSUMPTIONS = {
  /** One connected device per user; a user on a phone and a laptop is two sockets (scale the socket rows). */
  socketsPerUser: 1,
  /**
   * Share of a core a process is planned to use. The bench passed (p99 ≤ 50 ms) with the 2-core machine 56% busy
   * and failed at 71% (parley, 300 and 400 msg/s, `cpu.machinePercent` of those steps); 60% also leaves room for a
   * lost zone or a deploy's reconnections.
   */
  utilisation: 0.6,
  /** A gateway or chats pod is one Node process: one event loop, so about one core of work. */
  coresPerNodePod: 1,
  /** A gateway pod's memory limit, and the share of it planned for sockets (the rest: heap headroom, buffers). */
  gatewayPodMemoryBytes: 2 * 2 ** 30,
  socketMemoryShare: 0.5,
  /** At most this many sockets per gateway: one pod's restart then moves at most this many reconnecting clients. */
  maxSocketsPerGateway: 50_000,
  /** Redis runs commands on one thread: a shard is planned at `utilisation` of one core. */
  redisCoresPerShard: 1,
  /** The largest single Postgres primary planned for (a common large instance); past it, partitioning. */
  postgresMaxPrimaryCores: 64,
  /** Table and index bytes per stored message (NOT measured: row, `messages` indexes, TOAST-free text of ~100 B). */
  bytesPerStoredMessage: 400,
};

export type Assumptions = typeof ASSUMPTIONS;

/** The CPU and backend work of one message of one shape, as measured. */
export interface ShapeFigures {
  shape: string;
  /** `receive-message`s per message sent (1 for 1:1, members − 1 for a group). */
  deliveriesPerMessage: number;
  /** µs of CPU per message sent, by kind of process. */
  cpuUs: { gateways: number; chats: number; postgres: number; redis: number };
  backends?: BackendWork;
  /** Where each came from: file and field. */
  sources: string[];
}

export interface MeasuredFigures {
  shapes: ShapeFigures[];
  /** RSS per idle socket on a Parley gateway, after a full GC. */
  bytesPerSocket: number;
  sources: string[];
}

interface Loaded {
  file: string;
  r: BenchResults;
}

const KINDS = ['gateways', 'chats', 'postgres', 'redis'] as const;

/**
 * The 1:1 step a plan uses: the highest offered rate Parley 2 + 2 sustained (conservative: CPU per message falls as
 * load rises and batches grow, so a lower rate's figure overstates it).
 */
export function oneToOneStep(r: BenchResults, atSaturation = false): RateStep | undefined {
  const steps = r.systems.parley?.steps ?? [];
  if (atSaturation) return steps.find((s) => s.offered === r.config.tableRate);
  return steps.filter((s) => s.sustained && !s.pastMax).sort((a, b) => b.offered - a.offered)[0];
}

/**
 * The 1:1 step Redis's and Postgres's work is read from: the highest rate measured below the summary's
 * past-its-max one, sustained or not. These are counts of work, not timings, so the latency target does not
 * bear on them; batches grow with the rate, so a lower rate's counts are the higher.
 */
export function oneToOneWorkStep(r: BenchResults): RateStep | undefined {
  return (r.systems.parley?.steps ?? [])
    .filter((s) => s.median.backends && !s.pastMax)
    .sort((a, b) => b.offered - a.offered)[0];
}

/** A group size's step: its highest offered rate (the smallest share of idle work per message). */
export function groupStep(r: BenchResults, members: number): GroupStep | undefined {
  const steps = r.groups?.steps.filter((s) => s.members === members && s.sent > 0) ?? [];
  return steps.sort((a, b) => b.offered - a.offered)[0];
}

/**
 * A group step's CPU per message by kind, less what each kind spent idle with every member connected
 * (`groups.idle.processes`, % of a core): at tens of messages/s the timers are a large part of it.
 */
function groupCpuAboveIdle(r: BenchResults, st: GroupStep): ShapeFigures['cpuUs'] {
  const rate = st.sent / (st.windowMs / 1000);
  const idleCores = (kind: string) =>
    Object.entries(r.groups?.idle.processes ?? {})
      .filter(([name]) => kindOf(name) === kind)
      .reduce((a, [, pct]) => a + pct / 100, 0);
  const out = { gateways: 0, chats: 0, postgres: 0, redis: 0 };
  for (const k of KINDS) out[k] = Math.max(0, (st.cpu.byKind[k] ?? 0) - (idleCores(k) * 1e6) / rate);
  return out;
}

/** bench/cpu.ts's kindOf, for the process names of a group idle reading. */
const kindOf = (name: string) =>
  name.includes('gateway') ? 'gateways' : name.includes('chats') ? 'chats' : name;

/** Takes each figure from the first file that has it. */
export function measuredFigures(files: Loaded[], atSaturation = false): MeasuredFigures {
  const first = <T>(pick: (l: Loaded) => T | undefined): { value: T; file: string } | undefined => {
    for (const l of files) {
      const value = pick(l);
      if (value !== undefined) return { value, file: l.file };
    }
    return undefined;
  };
  const shapes: ShapeFigures[] = [];

  const cpu1 = first((l) => oneToOneStep(l.r, atSaturation));
  if (!cpu1) throw new Error('no sustained 1:1 step of `parley` in the files given');
  const back1 = first((l) => oneToOneWorkStep(l.r));
  const byKind = cpu1.value.median.cpu.byKind;
  shapes.push({
    shape: '1:1',
    deliveriesPerMessage: 1,
    cpuUs: {
      gateways: byKind.gateways ?? 0,
      chats: byKind.chats ?? 0,
      postgres: byKind.postgres ?? 0,
      redis: byKind.redis ?? 0,
    },
    backends: back1?.value.median.backends,
    sources: [
      `CPU: ${cpu1.file} systems.parley.steps[offered=${cpu1.value.offered}].median.cpu.byKind ` +
        (atSaturation
          ? '(the summary rate, past the maximum: batches at their largest)'
          : '(highest rate sustained)'),
      back1
        ? `Redis, Postgres: ${back1.file} systems.parley.steps[offered=${back1.value.offered}].median.backends`
        : 'Redis, Postgres: not measured in the files given',
    ],
  });

  for (const members of [10, 100]) {
    const cpu = first((l) => {
      const st = groupStep(l.r, members);
      return st ? { st, r: l.r } : undefined;
    });
    if (!cpu) continue;
    const back = first((l) => {
      const st = groupStep(l.r, members);
      return st?.backends ? st : undefined;
    });
    shapes.push({
      shape: `groups of ${members}`,
      deliveriesPerMessage: cpu.value.st.delivered / cpu.value.st.sent,
      cpuUs: groupCpuAboveIdle(cpu.value.r, cpu.value.st),
      backends: back?.value.backends,
      sources: [
        `CPU: ${cpu.file} groups.steps[members=${members}, offered=${cpu.value.st.offered}].cpu.byKind less groups.idle.processes; deliveries: .delivered / .sent`,
        back
          ? `Redis, Postgres: ${back.file} groups.steps[members=${members}, offered=${back.value.offered}].backends`
          : 'Redis, Postgres: not measured in the files given',
      ],
    });
  }

  const mem = first((l) => l.r.connections?.systems.parley?.bytesPerSocket);
  if (!mem) throw new Error('no `connections.systems.parley.bytesPerSocket` in the files given');
  return {
    shapes,
    bytesPerSocket: mem.value,
    sources: [`socket memory: ${mem.file} connections.systems.parley.bytesPerSocket`],
  };
}

/** The resources one shape needs at the target. */
export interface ShapePlan {
  shape: string;
  deliveriesPerSecond: number;
  gatewaysForCpu: number;
  gatewaysForSockets: number;
  gateways: number;
  chats: number;
  redisCommandsPerSecond?: number;
  redisShards: number;
  /** Commands/s one shard then runs, and the measured µs of Redis CPU per command. */
  redisUsPerCommand?: number;
  postgresCores: number;
  postgresCommitsPerSecond?: number;
  postgresRowsWrittenPerSecond?: number;
  walFsyncsPerSecond?: number;
  walMiBPerSecond?: number;
  storageGiBPerDay: number;
  /** The highest message rate each resource that does not scale out by adding pods can carry, msg/s. */
  ceilings: { oneRedis: number; onePostgresPrimary: number };
  /** Those resources, lowest ceiling first. */
  bottlenecks: string[];
}

export function planShape(
  s: ShapeFigures,
  socketBytes: number,
  a: Assumptions = ASSUMPTIONS,
  t = TARGET,
): ShapePlan {
  const rate = t.messagesPerSecond;
  const cores = (us: number) => (rate * us) / 1e6;
  const pods = (us: number, coresPerPod: number) => Math.ceil(cores(us) / (coresPerPod * a.utilisation));
  const sockets = t.users * a.socketsPerUser;
  const socketsPerGateway = Math.min(
    a.maxSocketsPerGateway,
    Math.floor((a.gatewayPodMemoryBytes * a.socketMemoryShare) / socketBytes),
  );
  const gatewaysForCpu = pods(s.cpuUs.gateways, a.coresPerNodePod);
  const gatewaysForSockets = Math.ceil(sockets / socketsPerGateway);
  const redis = s.backends?.redis;
  const commands = redis ? (redis.commandsPerMessageAboveIdle ?? redis.commandsPerMessage) : undefined;
  const pg = s.backends?.postgres;
  const per = (x: number | undefined) => (x === undefined ? undefined : x * rate);
  const oneRedis = (a.redisCoresPerShard * a.utilisation * 1e6) / s.cpuUs.redis;
  const onePostgresPrimary = (a.postgresMaxPrimaryCores * a.utilisation * 1e6) / s.cpuUs.postgres;
  const ceilings = { oneRedis, onePostgresPrimary };
  const bottlenecks = (
    [
      ['one Redis', oneRedis],
      ['one Postgres primary', onePostgresPrimary],
    ] as const
  )
    .slice()
    .sort((x, y) => x[1] - y[1])
    .map(([what, at]) => `${what} at ${Math.round(at).toLocaleString('en')} msg/s`);
  return {
    shape: s.shape,
    deliveriesPerSecond: rate * s.deliveriesPerMessage,
    gatewaysForCpu,
    gatewaysForSockets,
    gateways: Math.max(gatewaysForCpu, gatewaysForSockets),
    chats: pods(s.cpuUs.chats, a.coresPerNodePod),
    redisCommandsPerSecond: per(commands),
    redisShards: pods(s.cpuUs.redis, a.redisCoresPerShard),
    redisUsPerCommand: commands ? s.cpuUs.redis / commands : undefined,
    postgresCores: Math.ceil(cores(s.cpuUs.postgres) / a.utilisation),
    postgresCommitsPerSecond: per(pg?.commitsPerMessage),
    postgresRowsWrittenPerSecond: pg
      ? rate * (pg.rowsInsertedPerMessage + pg.rowsUpdatedPerMessage + pg.rowsDeletedPerMessage)
      : undefined,
    walFsyncsPerSecond: per(pg?.walSyncsPerMessage),
    walMiBPerSecond: pg ? (rate * pg.walBytesPerMessage) / 2 ** 20 : undefined,
    storageGiBPerDay: (rate * 86_400 * a.bytesPerStoredMessage) / 2 ** 30,
    ceilings,
    bottlenecks,
  };
}

const n = (x: number | undefined, digits = 0) =>
  x === undefined || !Number.isFinite(x)
    ? 'not measured'
    : x.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function markdown(m: MeasuredFigures, a: Assumptions = ASSUMPTIONS, t = TARGET): string {
  const plans = m.shapes.map((s) => planShape(s, m.bytesPerSocket, a, t));
  const row = (label: string, cell: (p: ShapePlan, s: ShapeFigures) => string) =>
    `| ${label} | ${plans.map((p, i) => cell(p, m.shapes[i]!)).join(' | ')} |`;
  const u = a.utilisation * 100;
  const lines = [
    `Plan for ${n(t.users)} connected users (${n(t.users * a.socketsPerUser)} sockets) sending ${n(t.messagesPerSecond)} messages/s, ` +
      `every process planned at ${u}% of its cores:`,
    '',
    `| | ${plans.map((p) => p.shape).join(' | ')} |`,
    `| --- | ${plans.map(() => '---:').join(' | ')} |`,
    row('deliveries/s (`receive-message` at a socket)', (p) => n(p.deliveriesPerSecond)),
    row('measured: gateway / chats / Postgres / Redis CPU, µs per message', (_, s) =>
      KINDS.map((k) => n(s.cpuUs[k])).join(' / '),
    ),
    row(`gateway pods for CPU (${a.coresPerNodePod} core each)`, (p) => n(p.gatewaysForCpu)),
    row('gateway pods for sockets', (p) => n(p.gatewaysForSockets)),
    row('**gateway pods**', (p) => `**${n(p.gateways)}**`),
    row(`**chats pods** (${a.coresPerNodePod} core each)`, (p) => `**${n(p.chats)}**`),
    row('measured: Redis commands per message', (_, s) =>
      n(s.backends?.redis.commandsPerMessageAboveIdle ?? s.backends?.redis.commandsPerMessage, 1),
    ),
    row('Redis commands/s', (p) => n(p.redisCommandsPerSecond)),
    row('Redis CPU per command, µs (measured CPU / commands)', (p) => n(p.redisUsPerCommand, 1)),
    row(`**Redis shards** (${u}% of one core each)`, (p) => `**${n(p.redisShards)}**`),
    row('**Postgres cores** (primary, writes)', (p) => `**${n(p.postgresCores)}**`),
    row('measured: transactions (reads too) / rows written / WAL fsyncs per message', (_, s) => {
      const pg = s.backends?.postgres;
      return pg
        ? `${n(pg.commitsPerMessage, 2)} / ${n(pg.rowsInsertedPerMessage + pg.rowsUpdatedPerMessage + pg.rowsDeletedPerMessage, 1)} / ${n(pg.walSyncsPerMessage, 2)}`
        : 'not measured';
    }),
    row('Postgres transactions/s', (p) => n(p.postgresCommitsPerSecond)),
    row('Postgres rows written/s (inserted + updated + deleted)', (p) => n(p.postgresRowsWrittenPerSecond)),
    row('WAL fsyncs/s (sync write IOPS, upper bound)', (p) => n(p.walFsyncsPerSecond)),
    row('WAL MiB/s', (p) => n(p.walMiBPerSecond, 1)),
    row(`storage GiB/day (assumed ${a.bytesPerStoredMessage} B per message)`, (p) => n(p.storageGiBPerDay)),
    row(`msg/s one Redis carries (${u}% of a core)`, (p) => n(p.ceilings.oneRedis)),
    row(`msg/s one Postgres primary carries (${a.postgresMaxPrimaryCores} cores at ${u}%)`, (p) =>
      n(p.ceilings.onePostgresPrimary),
    ),
    row('**first bottleneck**', (p) => `**${p.bottlenecks[0]}**`),
    row('next (once that one is split)', (p) => p.bottlenecks[1] ?? '–'),
    '',
    `Measured (socket memory ${n(m.bytesPerSocket)} B RSS per idle socket):`,
    '',
    ...[...m.sources, ...m.shapes.flatMap((s) => s.sources.map((x) => `${s.shape}: ${x}`))].map(
      (x) => `- ${x}`,
    ),
    '',
    'Assumed (tools/capacity-plan.ts, `ASSUMPTIONS`): ' +
      Object.entries(a)
        .map(([k, v]) => `${k} = ${n(v, v < 1 ? 2 : 0)}`)
        .join(', ') +
      '.',
  ];
  return lines.join('\n');
}

/** The default files: the last full run, then the newest other run. */
function defaultFiles(): string[] {
  const dir = fileURLToPath(new URL('../bench/results/', import.meta.url));
  const stamped = readdirSync(dir)
    .filter((f) => /^\d{4}-.*\.json$/.test(f))
    .sort();
  return [`${dir}latest.json`, ...(stamped.length ? [`${dir}${stamped.at(-1)!}`] : [])];
}

export function load(files: string[]): Loaded[] {
  const root = fileURLToPath(new URL('../', import.meta.url));
  return files.map((f) => ({
    file: f.startsWith(root) ? f.slice(root.length) : f,
    r: JSON.parse(readFileSync(f, 'utf8')) as BenchResults,
  }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // --at-saturation: the 1:1 CPU of the summary's rate (1,000 msg/s, past Parley's maximum), the other end of the range.
  const atSaturation = process.argv.includes('--at-saturation');
  const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  console.log(markdown(measuredFigures(load(files.length ? files : defaultFiles()), atSaturation)));
}
