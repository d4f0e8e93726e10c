import { createHmac } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchUser, FromWorker, ToWorker, WorkerResult } from './protocol.js';
import type { TestDatabase } from '../test/support/postgres.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A short-lived HS256 access token, as the gateway issues them (the bench creates users in SQL, not via argon2). */
export function accessToken(userId: number, secret: string): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: String(userId), typ: 'access', iat: now, exp: now + 6 * 3600 })}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** `n` fresh users, created in one SQL statement (fixtures, not the API: no argon2), in ascending id. */
export async function createUsers(db: TestDatabase, n: number, tag: string): Promise<number[]> {
  const users = await db.sql<{ id: number }>(
    `INSERT INTO users (username, username_key, display_name, password_hash)
     SELECT $1 || g, $1 || g, $1 || g, 'bench-fixture' FROM generate_series(1, $2::int) g
     RETURNING id`,
    [`${tag}u`, n],
  );
  return users.map((u) => Number(u.id)).sort((x, y) => x - y);
}

/** `pairs` 1:1 conversations between fresh users, created in one SQL statement each (fixtures, not the API). */
export async function createPairs(
  db: TestDatabase,
  pairs: number,
  tag: string,
): Promise<{ a: number; b: number; conversationId: number }[]> {
  const ids = await createUsers(db, pairs * 2, tag);
  const a = ids.filter((_, i) => i % 2 === 0);
  const b = ids.filter((_, i) => i % 2 === 1);
  const convs = await db.sql<{ id: number; sender_id: number; receiver_id: number }>(
    `INSERT INTO conversations (sender_id, receiver_id, pair_low, pair_high)
     SELECT x, y, least(x, y), greatest(x, y) FROM unnest($1::bigint[], $2::bigint[]) AS t(x, y)
     RETURNING id, sender_id, receiver_id`,
    [a, b],
  );
  await db.sql(
    `INSERT INTO conversation_participants (conversation_id, user_id, activity)
     SELECT c.id, u, nextval('conversation_activity_seq')
     FROM conversations c, unnest(ARRAY[c.sender_id, c.receiver_id]) AS u
     WHERE c.id = ANY($1::bigint[])`,
    [convs.map((c) => c.id)],
  );
  return convs.map((c) => ({ a: c.sender_id, b: c.receiver_id, conversationId: c.id }));
}

/** Both members of each pair as bench users, every one sending: `a` on `urls[0]`, `b` on `urls[1]`. */
export function pairUsers(
  convs: { a: number; b: number; conversationId: number }[],
  urls: [string, string],
  secret: string,
): BenchUser[] {
  return convs.flatMap((c) =>
    ([c.a, c.b] as const).map((id, i) => ({
      id,
      token: accessToken(id, secret),
      conversationId: c.conversationId,
      url: urls[i]!,
      sends: true,
    })),
  );
}

/** A load worker process (bench/load-worker.ts) and its request/response helper. */
export class Worker {
  private readonly proc: ChildProcess;
  private readonly waiting: Array<(m: FromWorker) => void> = [];

  constructor() {
    this.proc = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx', '--max-semi-space-size=16'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m: FromWorker) => {
      if (m.type === 'error') console.error(`load worker: ${m.message}`);
      else this.waiting.shift()?.(m);
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Sends `m` and resolves with the worker's next reply, whose type the caller names (`_reply`). */
  ask<T extends FromWorker['type']>(m: ToWorker, _reply: T): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve) => {
      this.waiting.push((reply) => resolve(reply as Extract<FromWorker, { type: T }>));
      this.proc.send(m);
    });
  }

  tell(m: ToWorker): void {
    this.proc.send(m);
  }

  async close(): Promise<void> {
    this.tell({ type: 'close' });
    await new Promise((r) => this.proc.once('exit', r));
  }
}

/**
 * How often the measured scenarios try a refused join (bench/load-worker.ts): on a busy machine the chats service
 * sheds some of a few hundred joins at once with "Service busy", and a user left out of its room would count as
 * lost messages.
 */
export const JOIN_ATTEMPTS = 5;

export async function connectUsers(
  workers: Worker[],
  users: BenchUser[],
  join: boolean,
  reconnection = false,
  joinAttempts = 1,
) {
  // Both members of a conversation in the same worker: each worker then waits for exactly the deliveries its own
  // sends should cause. (Split by user, a worker could stop counting while a message to it was still on its way,
  // and report it lost.)
  const conversations = new Map<number, number>();
  for (const u of users)
    if (!conversations.has(u.conversationId)) conversations.set(u.conversationId, conversations.size);
  const parts = workers.map((_, w) =>
    users.filter((u) => conversations.get(u.conversationId)! % workers.length === w),
  );
  const replies = await Promise.all(
    workers.map((w, i) =>
      w.ask({ type: 'connect', users: parts[i]!, join, reconnection, joinAttempts }, 'connected'),
    ),
  );
  const joinErrors: Record<string, number> = {};
  for (const [k, v] of replies.flatMap((r) => Object.entries(r.joinErrors)))
    joinErrors[k] = (joinErrors[k] ?? 0) + v;
  return {
    connected: replies.reduce((n, r) => n + r.connected, 0),
    failed: replies.reduce((n, r) => n + r.failed, 0),
    joined: replies.reduce((n, r) => n + r.joined, 0),
    joinErrors,
  };
}

export function mergeResults(results: WorkerResult[]): WorkerResult {
  const sum = (k: keyof WorkerResult) => results.reduce((n, r) => n + (r[k] as number), 0);
  return {
    sent: sum('sent'),
    acked: sum('acked'),
    failedAcks: sum('failedAcks'),
    expected: sum('expected'),
    delivered: sum('delivered'),
    duplicated: sum('duplicated'),
    outOfOrder: sum('outOfOrder'),
    e2e: results.flatMap((r) => r.e2e),
    ack: results.flatMap((r) => r.ack),
    measureStart: Math.min(...results.map((r) => r.measureStart)),
    measureEnd: Math.max(...results.map((r) => r.measureEnd)),
    lastDelivery: Math.max(...results.map((r) => r.lastDelivery)),
  };
}

export function percentiles(values: number[]): {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  n: number;
} {
  if (values.length === 0) return { p50: NaN, p95: NaN, p99: NaN, max: NaN, n: 0 };
  const s = Float64Array.from(values).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1]!, n: s.length };
}

/** CPU seconds (user + system) and RSS of a process, from /proc. */
export function procStat(pid: number): { cpu: number; rss: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpu: ticks / 100, rss: rssPages * 4096 };
  } catch {
    return { cpu: 0, rss: 0 };
  }
}

/** Pids of processes whose command name is `name` (postgres backends, redis-server). */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** A reading of `sampleProcesses`: per name, CPU seconds so far, RSS, and per pid where the name sums several. */
export type ProcessSample = Record<string, { cpu: number; rss: number; byPid?: Map<number, number> }>;

/**
 * The database a Postgres process works for: a backend's title is `postgres: [cluster: ]user database host(port)
 * state`; the postmaster and the server's own workers (checkpointer, WAL writer…) have none.
 */
function postgresDatabase(pid: number): string | undefined {
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ');
    return /^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])/.exec(title)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds and RSS of each named process, plus Postgres and Redis, read now from /proc: sampled before and after
 * a step, `cpuBetween` gives what each spent on it. Postgres counts the server's own processes and the backends of
 * `database` (none without it): the backends of other databases are other users of the machine (tests running
 * beside the bench), whose CPU `machineCpu` still shows.
 */
export function sampleProcesses(pids: Record<string, number>, database?: string): ProcessSample {
  const all: ProcessSample = {};
  for (const [name, pid] of Object.entries(pids)) all[name] = procStat(pid);
  const sum = (list: number[]) => {
    const byPid = new Map<number, number>();
    let rss = 0;
    for (const pid of list) {
      const st = procStat(pid);
      byPid.set(pid, st.cpu);
      rss += st.rss;
    }
    return { cpu: [...byPid.values()].reduce((a, b) => a + b, 0), rss, byPid };
  };
  all.postgres = sum(
    pidsNamed('postgres').filter((pid) => {
      const db = postgresDatabase(pid);
      return db === undefined || db === database;
    }),
  );
  all.redis = sum(pidsNamed('redis-server'));
  return all;
}

/** Busy CPU seconds of the whole machine, every process (user, nice, system, irq, softirq), from /proc/stat. */
export function machineCpu(): number {
  const [, user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .split(/\s+/);
  return [user, nice, system, irq, softirq].reduce((a, v) => a + Number(v), 0) / 100;
}

/**
 * What each process spent between two `sampleProcesses` readings over `seconds`. Where a name sums several
 * processes, pid by pid: a Postgres backend that exits in between (a pool closing an idle connection) would
 * otherwise take all its past CPU out of the sum, and a new one's counts from its start, which is within the step.
 */
export function cpuBetween(
  before: ProcessSample,
  after: ProcessSample,
  seconds: number,
): { processes: Record<string, { cpuPercent: number; rssMiB: number; cpuMs: number }>; cpuSeconds: number } {
  const spent = (name: string) => {
    const a = after[name]!;
    const b = before[name];
    if (!a.byPid || !b?.byPid) return a.cpu - (b?.cpu ?? 0);
    let cpu = 0;
    for (const [pid, c] of a.byPid) cpu += c - (b.byPid.get(pid) ?? 0);
    return cpu;
  };
  const processes = Object.fromEntries(
    Object.entries(after).map(([name, a]) => {
      const cpu = spent(name);
      return [
        name,
        {
          cpuPercent: Math.round((cpu / seconds) * 1000) / 10,
          rssMiB: Math.round(a.rss / 2 ** 20),
          cpuMs: Math.round(cpu * 1000),
        },
      ];
    }),
  );
  const cpuSeconds = Object.keys(after).reduce((a, name) => a + spent(name), 0);
  return { processes, cpuSeconds };
}
