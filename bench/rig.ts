// A rig: one system up, with its own two load workers and its users connected and joined (100 conversations × 2
// members by default, both members of a conversation in the same worker, a on the system's first gateway and b on
// its second). Every rig stays up for the whole sweep; `idleReading` measures what they cost doing nothing.
import { backendSnapshot, redisCommandsPerSecond } from './backend-work.js';
import { CpuTracker, kindOf, type TrackSpec } from './cpu.js';
import { connectUsers, JOIN_ATTEMPTS, joinRefusals, Worker } from './lib.js';
import type { IdleResult } from './results.js';
import type { RunningSystem, SystemDef } from './systems.js';

export interface Rig {
  def: SystemDef;
  sys: RunningSystem;
  workers: Worker[];
  senders: number;
  /** CPU (cores) the system's own processes use idle: the level `settle` waits for after a run. */
  idleCores: number;
  /** Commands/s the shared Redis ran with every rig idle: subtracted from a run's commands per message. */
  idleRedisPerSecond?: number;
}

/**
 * Starts every system at once (their boots overlap), then connects their users one system at a time (hundreds of
 * joins at once would be shed by a busy chats service). A system that fails to start or connect is left out, with
 * the reason.
 */
export async function setUpRigs(
  defs: SystemDef[],
  pairs: number,
): Promise<{ rigs: Rig[]; errors: Map<string, string> }> {
  const started = await Promise.allSettled(defs.map((d) => d.start(d)));
  const rigs: Rig[] = [];
  const errors = new Map<string, string>();
  for (const [i, def] of defs.entries()) {
    const s = started[i]!;
    try {
      if (s.status === 'rejected') throw s.reason;
      rigs.push(await connectRig(def, s.value, pairs));
    } catch (err) {
      console.error(`  ${def.name} could not start, left out: ${String(err)}`);
      errors.set(def.name, String(err));
    }
  }
  return { rigs, errors };
}

async function connectRig(def: SystemDef, sys: RunningSystem, pairs: number): Promise<Rig> {
  const workers = [new Worker(), new Worker()];
  try {
    const users = await sys.users(pairs, def.name.replace(/\W/g, ''));
    const { connected, failed, joined, joinErrors } = await connectUsers(
      workers,
      users,
      true,
      false,
      JOIN_ATTEMPTS,
    );
    if (failed > 0) throw new Error(`${failed} of ${users.length} users could not connect`);
    // A user whose join was refused is not in the room, and its receipts would show as lost: say so up front.
    const refused = joinRefusals(joinErrors);
    console.log(
      `  ${def.name}: ${def.gateways} gateway(s) + ${def.chats} chats; ${connected} users connected (${pairs} conversations), 2 load workers` +
        (refused ? `; joins refused: ${refused}` : '') +
        (joined < connected ? `; ${connected - joined} never joined` : ''),
    );
    return { def, sys, workers, senders: users.filter((u) => u.sends).length, idleCores: 0 };
  } catch (err) {
    await Promise.all(workers.map((w) => w.close()));
    await sys.stop();
    throw err;
  }
}

export async function closeRig(rig: Rig): Promise<void> {
  await Promise.all(rig.workers.map((w) => w.close()));
  await rig.sys.stop();
}

/** The processes a step of this rig accounts CPU to (cpu.ts). */
export function trackSpec(rig: Rig): TrackSpec {
  return {
    named: {
      ...rig.sys.pids,
      ...Object.fromEntries(rig.workers.map((w, i) => [`load-worker-${i + 1}`, w.pid])),
      orchestrator: process.pid,
    },
    databases: rig.sys.database ? [rig.sys.database] : [],
  };
}

/**
 * Every rig up, every user connected, nothing sent, for `ms`: the whole machine's busy CPU, each system's share
 * (its processes and load workers) and the shared processes'. Sets each rig's `idleCores`.
 */
export async function idleReading(rigs: Rig[], ms: number): Promise<IdleResult> {
  const named: Record<string, number> = { orchestrator: process.pid };
  for (const rig of rigs)
    for (const [name, pid] of Object.entries(trackSpec(rig).named))
      if (name !== 'orchestrator') named[`${rig.def.name}/${name}`] = pid;
  const tracker = new CpuTracker({ named, databases: rigs.flatMap((r) => trackSpec(r).databases) });
  const before = await backendSnapshot();
  tracker.start();
  await new Promise((r) => setTimeout(r, ms));
  const use = tracker.stop();
  const redisPerSecond = redisCommandsPerSecond(before, await backendSnapshot());
  for (const rig of rigs) rig.idleRedisPerSecond = redisPerSecond;
  const pct = (cpu: number) => Math.round((cpu / use.seconds) * 1000) / 10;
  const bySystem: Record<string, number> = {};
  const shared: Record<string, number> = {};
  let tracked = 0;
  for (const [name, p] of Object.entries(use.processes)) {
    tracked += p.cpuSeconds;
    const slash = name.indexOf('/');
    if (slash < 0) {
      shared[name] = pct(p.cpuSeconds);
      continue;
    }
    const system = name.slice(0, slash);
    bySystem[system] = (bySystem[system] ?? 0) + p.cpuSeconds;
    const rig = rigs.find((r) => r.def.name === system)!;
    if (kindOf(name) !== 'load workers') rig.idleCores += p.cpuSeconds / use.seconds;
  }
  for (const k of Object.keys(bySystem)) bySystem[k] = pct(bySystem[k]!);
  const idle: IdleResult = {
    seconds: use.seconds,
    machinePercent: pct(use.machineSeconds),
    otherPercent: pct(use.machineSeconds - tracked),
    bySystem,
    shared,
    redisCommandsPerSecond: Math.round(redisPerSecond * 10) / 10,
  };
  const list = (o: Record<string, number>) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  console.log(
    `  idle, everything up: machine ${idle.machinePercent}% of a core (${list(bySystem)}; ${list(shared)}; other ${idle.otherPercent}); Redis ${idle.redisCommandsPerSecond} commands/s`,
  );
  return idle;
}
