// The group scenario of `npm run bench`: Parley's groups under a fixed offered rate, each message from a member
// picked at random, every member socket checked for receiving each message exactly once. Parley only: the
// baseline and the seed-003 design have no groups. Open loop and CPU accounting as in the 1:1 sweep
// (bench/measure.ts): the whole machine's busy CPU per message is the headline, per process beside it.
import type { Cluster } from '../test/support/cluster.js';
import { backendLine, backendSnapshot, backendWork, redisCommandsPerSecond } from './backend-work.js';
import { cpuFigures, CpuTracker, type TrackSpec } from './cpu.js';
import { percentiles, stalls, timeline } from './latency.js';
import {
  accessToken,
  concat,
  connectUsers,
  createUsers,
  JOIN_ATTEMPTS,
  joinRefusals,
  now,
  sleep,
  Worker,
} from './lib.js';
import type { BenchUser, GroupWorkerResult } from './protocol.js';
import type { GroupFanout, GroupIdle, GroupResults, GroupStep } from './results.js';

/** A running Parley (bench/systems.ts, startParley). */
export interface GroupSystem {
  cluster: Cluster;
  pids: Record<string, number>;
  database?: string;
  stop(): Promise<void>;
}

export interface GroupPlan {
  /** Group size and offered messages/s (over all groups of that size), in the order run. */
  steps: { members: number; rate: number }[];
  /** Sockets per group size: groups of n members, as many as give about this many sockets (at least 2 groups). */
  sockets: number;
  warmupMs: number;
  durationMs: number;
  /** A step's window lasts long enough for this many deliveries (and at least durationMs). */
  minSamples: number;
  jitWarmupMs: number;
  gateways: number;
  chats: number;
  jwtSecret: string;
}

/** `10:20,100:20` → steps of 10-member groups at 20 messages/s, then 100-member ones at 20. */
export function parseGroupSteps(spec: string): GroupPlan['steps'] {
  return spec.split(',').map((s) => {
    const [members, rate] = s.split(':').map(Number);
    if (!Number.isInteger(members) || members! < 3 || !(rate! > 0))
      throw new Error(`--group-steps: "${s}" is not members:rate (members ≥ 3, rate > 0)`);
    return { members: members!, rate: rate! };
  });
}

/** Groups per size: about `sockets` sockets in all, an even number of groups so both load workers get some. */
const groupsOf = (members: number, sockets: number) => Math.max(2, 2 * Math.round(sockets / members / 2));

export async function groupScenario(
  start: () => Promise<GroupSystem>,
  plan: GroupPlan,
): Promise<GroupResults> {
  const sizes = [...new Set(plan.steps.map((s) => s.members))];
  console.log(
    `\n[groups] ${sizes.map((n) => `${groupsOf(n, plan.sockets)} groups of ${n}`).join(', ')}; parley only`,
  );
  const sys = await start();
  const workers = [new Worker(), new Worker()];
  try {
    const urls = sys.cluster.gateways.map((_, i) => sys.cluster.gatewayUrl(i));
    const bySize = new Map<number, number[]>();
    const users: BenchUser[] = [];
    for (const members of sizes) {
      const ids = await createGroups(sys.cluster, members, groupsOf(members, plan.sockets), plan.jwtSecret);
      bySize.set(
        members,
        ids.map((g) => g.conversationId),
      );
      for (const g of ids)
        g.memberIds.forEach((id, i) =>
          users.push({
            id,
            token: accessToken(id, plan.jwtSecret),
            conversationId: g.conversationId,
            url: urls[i % urls.length]!,
            sends: true,
            groupSize: members,
          }),
        );
    }
    const { connected, failed, joined, joinErrors } = await connectUsers(
      workers,
      users,
      true,
      false,
      JOIN_ATTEMPTS,
    );
    const refusals = joinRefusals(joinErrors);
    if (failed > 0 || joined < users.length)
      throw new Error(
        `of ${users.length} group members, ${failed} could not connect and ${connected - joined} could not join (${refusals})`,
      );
    console.log(
      `  ${connected} member sockets connected and joined${refusals ? ` (joins refused and retried: ${refusals})` : ''}, ${workers.length} load workers`,
    );
    const rig: Rig = {
      workers,
      spec: {
        named: {
          ...sys.pids,
          ...Object.fromEntries(workers.map((w, i) => [`load-worker-${i + 1}`, w.pid])),
          orchestrator: process.pid,
        },
        databases: [sys.database ?? sys.cluster.db.name],
      },
      idleMachinePerSecond: 0,
      minSamples: plan.minSamples,
    };
    const idle = await idleReading(rig, plan.durationMs);
    rig.idleMachinePerSecond = idle.machinePercent / 100;
    rig.idleRedisPerSecond = idle.redisCommandsPerSecond;
    const steps: GroupStep[] = [];
    const warmed = new Set<number>();
    for (const { members, rate } of plan.steps) {
      const conversations = bySize.get(members)!;
      if (!warmed.has(members) && plan.jitWarmupMs > 0) {
        // Unrecorded, as each system's sweep starts: the JIT compiles this size's paths first.
        await step(rig, conversations, members, rate, plan.jitWarmupMs, 0, 'warm-up');
        warmed.add(members);
      }
      steps.push(await step(rig, conversations, members, rate, plan.warmupMs, plan.durationMs));
    }
    return {
      gateways: plan.gateways,
      chats: plan.chats,
      warmupMs: plan.warmupMs,
      durationMs: plan.durationMs,
      jitWarmupMs: plan.jitWarmupMs,
      idle,
      steps,
      fanout: fanout(steps),
    };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await sys.stop();
  }
}

/**
 * Users in SQL (no argon2), groups through the API, as an app creates them: each group's first member is its
 * owner, one group each, so the per-user limit on new conversations is never reached.
 */
async function createGroups(
  cluster: Cluster,
  members: number,
  groups: number,
  secret: string,
): Promise<{ conversationId: number; memberIds: number[] }[]> {
  const ids = await createUsers(cluster.db, members * groups, `g${members}`);
  const out: { conversationId: number; memberIds: number[] }[] = [];
  for (let g = 0; g < groups; g++) {
    const memberIds = ids.slice(g * members, (g + 1) * members);
    const res = await fetch(`${cluster.gatewayUrl(g)}/api/chats/conversations`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${accessToken(memberIds[0]!, secret)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        type: 'group',
        title: `bench ${members} #${g}`,
        member_ids: memberIds.slice(1),
      }),
    });
    const body = (await res.json()) as { id?: number; type?: string; member_count?: number };
    if (res.status !== 201 || body.type !== 'group' || body.member_count !== members)
      throw new Error(`creating a group of ${members}: ${res.status} ${JSON.stringify(body)}`);
    out.push({ conversationId: body.id!, memberIds });
  }
  return out;
}

/** What every step runs on: the processes tracked, and what the machine spends with every socket connected. */
interface Rig {
  workers: Worker[];
  spec: TrackSpec;
  /** Busy CPU seconds per second of the whole machine, idle. */
  idleMachinePerSecond: number;
  /** Commands/s the shared Redis ran idle. */
  idleRedisPerSecond?: number;
  minSamples: number;
}

/**
 * The machine with every member connected and joined, and nothing sent: at the few messages per second of a group
 * step, the processes' timers (presence heartbeats, session sync, pollers) are a large part of the CPU per message.
 */
async function idleReading(rig: Rig, ms: number): Promise<GroupIdle> {
  await sleep(1000);
  const tracker = new CpuTracker(rig.spec);
  const before = await backendSnapshot();
  tracker.start();
  await sleep(ms);
  const use = tracker.stop();
  const redisPerSecond = redisCommandsPerSecond(before, await backendSnapshot());
  const pct = (cpu: number) => Math.round((cpu / use.seconds) * 1000) / 10;
  const processes = Object.fromEntries(Object.entries(use.processes).map(([n, p]) => [n, pct(p.cpuSeconds)]));
  const tracked = Object.values(use.processes).reduce((a, p) => a + p.cpuSeconds, 0);
  const idle: GroupIdle = {
    processes,
    machinePercent: pct(use.machineSeconds),
    otherPercent: pct(use.machineSeconds - tracked),
    redisCommandsPerSecond: Math.round(redisPerSecond * 10) / 10,
  };
  console.log(
    `  idle (connected, nothing sent): machine ${idle.machinePercent}% of a core (${Object.entries(processes)
      .map(([n, p]) => `${n} ${p}`)
      .join(', ')}; other ${idle.otherPercent}%); Redis ${idle.redisCommandsPerSecond} commands/s`,
  );
  return idle;
}

async function step(
  rig: Rig,
  conversations: number[],
  members: number,
  rate: number,
  warmupMs: number,
  durationMs: number,
  label = '',
): Promise<GroupStep> {
  // A warm-up run is measured like any other and thrown away: its whole time counts as the run's warm-up part.
  // A measured window is long enough for minSamples deliveries.
  const measuredMs =
    durationMs > 0
      ? Math.max(durationMs, Math.ceil(rig.minSamples / (rate * (members - 1))) * 1000)
      : warmupMs;
  const unmeasuredMs = durationMs > 0 ? warmupMs : 0;
  const tag = `g${members}r${rate}-${Date.now().toString(36)}`;
  const startAt = now() + 100;
  const results = Promise.all(
    rig.workers.map((w) =>
      w.ask(
        {
          type: 'run-groups',
          startAt,
          conversations,
          ratePerConversation: rate / conversations.length,
          warmupMs: unmeasuredMs,
          durationMs: measuredMs,
          drainMs: 5000,
          tag,
        },
        'group-result',
      ),
    ),
  );
  const windowStart = startAt + unmeasuredMs;
  await sleep(windowStart - now());
  const tracker = new CpuTracker(rig.spec);
  const database = rig.spec.databases[0];
  const counted = backendSnapshot(database);
  tracker.start();
  const before = await counted;
  await sleep(windowStart + measuredMs - now());
  const use = tracker.stop();
  const after = await backendSnapshot(database);
  const r = merge((await results).map((m) => m.result));
  const seconds = measuredMs / 1000;
  const cpu = cpuFigures(use, r.sent);
  const misdelivered = r.toSender + r.wrongConversation;
  const aboveIdle = use.machineSeconds - rig.idleMachinePerSecond * use.seconds;
  const late = percentiles(r.late);
  const st: GroupStep = {
    members,
    groups: conversations.length,
    offered: rate,
    windowMs: measuredMs,
    sent: r.sent,
    acked: r.acked,
    unacked: r.sent - r.acked,
    expected: r.expected,
    delivered: r.delivered,
    missing: r.missing,
    duplicated: r.duplicated,
    misdelivered,
    deliveredUnacked: r.deliveredUnacked,
    outOfOrder: r.outOfOrder,
    deliveredPerSecond: Math.round(r.delivered / seconds),
    e2e: percentiles(r.e2e),
    ack: percentiles(r.ack),
    sendLate: { p99: late.p99, max: late.max },
    stalls: stalls(r.deliveredAt, windowStart),
    timeline: timeline(r.deliveredAt, r.e2e, windowStart),
    cpu,
    backends: backendWork(before, after, r.sent, rig.idleRedisPerSecond),
    cpuMsPerSent: r.sent > 0 ? (use.machineSeconds * 1000) / r.sent : NaN,
    cpuMsPerDelivered: r.delivered > 0 ? (use.machineSeconds * 1000) / r.delivered : NaN,
    cpuMsPerSentAboveIdle: r.sent > 0 ? (aboveIdle * 1000) / r.sent : NaN,
    cpuMsPerDeliveredAboveIdle: r.delivered > 0 ? (aboveIdle * 1000) / r.delivered : NaN,
    updatesPerMessage: r.acked > 0 ? r.updates / r.acked : NaN,
    viewsPerMessage: r.acked > 0 ? r.views / r.acked : NaN,
    exact:
      r.sent > 0 &&
      r.sent === r.acked &&
      r.missing === 0 &&
      r.duplicated === 0 &&
      misdelivered === 0 &&
      r.deliveredUnacked === 0,
  };
  const f = (x: number) => x.toFixed(1);
  console.log(
    `  ${members} members @ ${rate}/s${label ? ` (${label})` : ''}: n ${st.e2e.n} sent ${r.sent} acked ${r.acked} delivered ${r.delivered}/${r.expected} ` +
      `(${st.deliveredPerSecond}/s) missing ${r.missing} dup ${r.duplicated} misdelivered ${misdelivered} unacked-delivered ${r.deliveredUnacked} ooo ${r.outOfOrder} | ` +
      `e2e p50 ${f(st.e2e.p50)} p99 ${f(st.e2e.p99)} max ${f(st.e2e.max)} ms | ack p99 ${f(st.ack.p99)} ms | stalls ${st.stalls.count} | ` +
      `send late max ${f(st.sendLate.max)} ms | CPU ${st.cpuMsPerSent.toFixed(2)} ms/sent ${(st.cpuMsPerDelivered * 1000).toFixed(0)} µs/delivery, ` +
      `above idle ${st.cpuMsPerSentAboveIdle.toFixed(2)} ms ${(st.cpuMsPerDeliveredAboveIdle * 1000).toFixed(0)} µs (other ${cpu.otherPercent}%) | ` +
      `updates/msg ${f(st.updatesPerMessage)} broadcasts/msg ${f(st.viewsPerMessage)} | ${backendLine(st)} ${st.exact ? '✓' : '✗'}`,
  );
  return st;
}

function merge(results: GroupWorkerResult[]): GroupWorkerResult {
  const out = { ...results[0]! };
  const samples = ['deliveredAt', 'e2e', 'ack', 'late'] as const;
  for (const k of Object.keys(out) as (keyof GroupWorkerResult)[]) {
    if ((samples as readonly string[]).includes(k)) continue;
    (out[k] as number) = results.reduce((n, r) => n + (r[k] as number), 0);
  }
  for (const k of samples) out[k] = concat(results.map((r) => r[k]));
  return out;
}

/**
 * For each rate measured with groups of two sizes: the CPU one more receiving member costs, as the difference of
 * the machine's CPU per message sent over the difference of deliveries per message. What a send costs whatever the
 * group's size (the RPC, the insert, the ack) and what the machine spends idle cancel out.
 */
function fanout(steps: GroupStep[]): GroupFanout[] {
  const out: GroupFanout[] = [];
  for (const rate of new Set(steps.map((s) => s.offered))) {
    const at = steps.filter((s) => s.offered === rate && s.sent > 0).sort((a, b) => a.members - b.members);
    if (at.length < 2) continue;
    const small = at[0]!;
    const big = at[at.length - 1]!;
    const extra = big.delivered / big.sent - small.delivered / small.sent;
    if (!(extra > 0)) continue;
    const kinds = [...new Set([...Object.keys(big.cpu.byKind), ...Object.keys(small.cpu.byKind)])];
    const msPerSent = (s: GroupStep, kind: string) => (s.cpu.byKind[kind] ?? 0) / 1000;
    out.push({
      offered: rate,
      fromMembers: small.members,
      toMembers: big.members,
      extraDeliveriesPerMessage: extra,
      cpuMsPerDelivery: (big.cpuMsPerSent - small.cpuMsPerSent) / extra,
      byKind: Object.fromEntries(kinds.map((k) => [k, (msPerSent(big, k) - msPerSent(small, k)) / extra])),
    });
  }
  return out;
}
