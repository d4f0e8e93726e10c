// CPU accounting from /proc. The headline is the whole machine's busy time (/proc/stat) per message: it cannot
// miss a process. Next to it, per process: a fixed set of pids taken when a step starts (the system's processes,
// its load workers, the bench itself, Postgres's own processes and the backends of the system's database,
// redis-server), each tracked for its lifetime (a backend that exits mid-step keeps what it spent up to the last
// sample; one that appears mid-step counts from its own start). "other" is the machine less what was tracked.
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './lib.js';

/** Clock ticks per second of /proc's CPU figures (USER_HZ: 100 on Linux). */
const HZ = 100;
/** How often a tracker reads its processes during a step. */
const SAMPLE_MS = 250;

/** CPU seconds (user + system), RSS and start time (in ticks since boot, which tells a reused pid) of a process. */
export function procStat(pid: number): { cpu: number; rss: number; start: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      cpu: (Number(fields[11]) + Number(fields[12])) / HZ,
      rss: Number(fields[21]) * 4096,
      start: Number(fields[19]),
    };
  } catch {
    return undefined; // gone
  }
}

/**
 * Busy CPU seconds of the whole machine so far: user + nice + system + irq + softirq + steal of /proc/stat's first
 * line (guest time is part of user).
 */
export function machineCpu(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .split(/\s+/);
  return [user, nice, system, irq, softirq, steal].reduce((a, v) => a + Number(v ?? 0), 0) / HZ;
}

/** Kind of a tracked process, from its name: `gateway-3` → gateways, `seed003/chats-1` → chats. */
export function kindOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (base.includes('gateway')) return 'gateways';
  if (base.includes('chats')) return 'chats';
  if (base.startsWith('load-worker')) return 'load workers';
  return base;
}

/** What a process is to the trackers: a Postgres process (with its database, if a backend), Redis, or neither. */
type Role =
  { kind: 'postgres'; database?: string } | { kind: 'redis' } | { kind: 'other' } | { kind: 'pending' };

function roleOf(pid: number): Role {
  let comm: string;
  try {
    comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return { kind: 'other' };
  }
  if (comm === 'redis-server') return { kind: 'redis' };
  if (comm !== 'postgres') return { kind: 'other' };
  let title: string;
  try {
    title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ');
  } catch {
    return { kind: 'other' };
  }
  // A backend's title is `postgres: [cluster: ]user database host(port) state`; the server's own processes
  // (checkpointer, WAL writer…) have none. A child forked a moment ago still has the postmaster's command line
  // (the postmaster's parent is not postgres): decided at a later sample.
  if (!title.startsWith('postgres: '))
    return parentIsPostgres(pid) ? { kind: 'pending' } : { kind: 'postgres' };
  const db = /^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])/.exec(title)?.[1];
  return { kind: 'postgres', database: db };
}

function parentIsPostgres(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return readFileSync(`/proc/${ppid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    return false;
  }
}

/** One process as a tracker follows it. */
interface Tracked {
  name: string;
  /** CPU seconds when first seen at the step's start (0 for a process that appeared during the step). */
  base: number;
  last: number;
  rss: number;
}

/** What a tracker saw over its step. */
export interface CpuUse {
  seconds: number;
  machineSeconds: number;
  /** Per name: CPU seconds spent in the step, and RSS at the last sample (summed over a name's processes). */
  processes: Record<string, { cpuSeconds: number; rssBytes: number }>;
}

/** Which processes a step tracks. */
export interface TrackSpec {
  /** Named processes: the system's own, the load workers, the bench orchestrator. */
  named: Record<string, number>;
  /** Databases whose Postgres backends count as "postgres" (the server's own processes always do). */
  databases: string[];
}

/**
 * Follows a step's processes from `start()` to `stop()`, reading them every SAMPLE_MS, so that each pid's last
 * reading survives its exit. Keyed by pid and start time, so a reused pid is another process.
 */
export class CpuTracker {
  private readonly tracked = new Map<string, Tracked>();
  private readonly roles = new Map<number, Role>();
  private readonly databases: Set<string>;
  private timer?: NodeJS.Timeout;
  private t0 = 0;
  private machine0 = 0;

  constructor(private readonly spec: TrackSpec) {
    this.databases = new Set(spec.databases);
  }

  start(): void {
    this.t0 = performance.now();
    this.machine0 = machineCpu();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), SAMPLE_MS);
  }

  stop(): CpuUse {
    clearInterval(this.timer);
    this.sample(false);
    const seconds = (performance.now() - this.t0) / 1000;
    const machineSeconds = machineCpu() - this.machine0;
    const processes: CpuUse['processes'] = {};
    for (const t of this.tracked.values()) {
      const p = (processes[t.name] ??= { cpuSeconds: 0, rssBytes: 0 });
      p.cpuSeconds += t.last - t.base;
      p.rssBytes += t.rss;
    }
    return { seconds, machineSeconds, processes };
  }

  private read(name: string, pid: number, initial: boolean): void {
    const st = procStat(pid);
    if (!st) return; // exited: its last reading stands
    const key = `${pid}:${st.start}`;
    const t = this.tracked.get(key);
    if (t) {
      t.last = st.cpu;
      t.rss = st.rss;
    } else {
      this.tracked.set(key, { name, base: initial ? st.cpu : 0, last: st.cpu, rss: st.rss });
    }
  }

  private sample(initial: boolean): void {
    for (const [name, pid] of Object.entries(this.spec.named)) this.read(name, pid, initial);
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      let role = this.roles.get(pid);
      if (!role || role.kind === 'pending') this.roles.set(pid, (role = roleOf(pid)));
      if (role.kind === 'redis') this.read('redis', pid, initial);
      else if (role.kind === 'postgres' && (role.database === undefined || this.databases.has(role.database)))
        this.read('postgres', pid, initial);
    }
  }
}

/** Per process: share of one core, CPU ms, µs per message, RSS. */
export interface ProcessCpu {
  kind: string;
  cpuPercent: number;
  cpuMs: number;
  usPerMessage: number;
  rssMiB: number;
}

/** A step's CPU, per message sent. */
export interface CpuFigures {
  /** Busy CPU of the whole machine (/proc/stat) per message sent, ms: the headline figure. */
  machineMsPerMessage: number;
  /** The machine's busy CPU over the step, % of one core. */
  machinePercent: number;
  /** Busy CPU outside the tracked processes (machine less tracked), % of one core. */
  otherPercent: number;
  processes: Record<string, ProcessCpu>;
  /** µs of CPU per message by kind of process (gateways, chats, postgres, redis, load workers…), and "other". */
  byKind: Record<string, number>;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function cpuFigures(use: CpuUse, messages: number): CpuFigures {
  const per = (seconds: number) => (messages > 0 ? (seconds * 1e6) / messages : NaN);
  const processes: Record<string, ProcessCpu> = {};
  const byKind: Record<string, number> = {};
  let tracked = 0;
  for (const [name, p] of Object.entries(use.processes)) {
    tracked += p.cpuSeconds;
    const kind = kindOf(name);
    processes[name] = {
      kind,
      cpuPercent: round((p.cpuSeconds / use.seconds) * 100, 1),
      cpuMs: Math.round(p.cpuSeconds * 1000),
      usPerMessage: round(per(p.cpuSeconds), 1),
      rssMiB: Math.round(p.rssBytes / 2 ** 20),
    };
    byKind[kind] = (byKind[kind] ?? 0) + per(p.cpuSeconds);
  }
  const other = use.machineSeconds - tracked;
  byKind.other = per(other);
  for (const k of Object.keys(byKind)) byKind[k] = round(byKind[k]!, 1);
  return {
    machineMsPerMessage: round(per(use.machineSeconds) / 1000, 3),
    machinePercent: round((use.machineSeconds / use.seconds) * 100, 1),
    otherPercent: round((other / use.seconds) * 100, 1),
    processes,
    byKind,
  };
}

/**
 * Waits until `pids` together use at most `cores` of CPU over a short window (or `maxMs` passed): after an
 * overloaded run a system works through its backlog, which must not be charged to the next system's run.
 */
export async function settle(pids: number[], cores: number, maxMs = 30_000): Promise<number> {
  const t0 = performance.now();
  const busy = () => pids.reduce((a, pid) => a + (procStat(pid)?.cpu ?? 0), 0);
  for (;;) {
    const c0 = busy();
    const w0 = performance.now();
    await sleep(250);
    const used = (busy() - c0) / ((performance.now() - w0) / 1000);
    const waited = performance.now() - t0;
    if (used <= cores || waited >= maxMs) return waited;
  }
}
