import { createHmac } from 'node:crypto';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchUser, FromWorker, ToWorker, WorkerResult } from './protocol.js';
import type { TestDatabase } from '../test/support/postgres.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** Milliseconds on the clock the load workers stamp messages with (one for every process of the machine). */
export const now = () => performance.timeOrigin + performance.now();

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
  transport: BenchUser['transport'] = 'socket.io',
): BenchUser[] {
  return convs.flatMap((c) =>
    ([c.a, c.b] as const).map((id, i) => ({
      id,
      token: accessToken(id, secret),
      conversationId: c.conversationId,
      url: urls[i]!,
      sends: true,
      transport,
      peerId: i === 0 ? c.b : c.a,
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
      // Structured clone rather than JSON: the samples travel as Float64Arrays (hundreds of thousands a run).
      serialization: 'advanced',
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

/** The concatenation of typed arrays (the load workers' samples). */
/** Why joins were refused, as `error × count, …` (empty when none were). */
export function joinRefusals(joinErrors: Record<string, number>): string {
  return Object.entries(joinErrors)
    .map(([k, v]) => `${k} × ${v}`)
    .join(', ');
}

export function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The load workers' results of one run as one: counts summed, samples concatenated (in the same order). */
export function mergeResults(results: WorkerResult[]): WorkerResult {
  const sum = (k: 'sent' | 'acked' | 'failedAcks' | 'expected' | 'delivered' | 'duplicated' | 'outOfOrder') =>
    results.reduce((n, r) => n + r[k], 0);
  return {
    sent: sum('sent'),
    acked: sum('acked'),
    failedAcks: sum('failedAcks'),
    expected: sum('expected'),
    delivered: sum('delivered'),
    duplicated: sum('duplicated'),
    outOfOrder: sum('outOfOrder'),
    deliveredAt: concat(results.map((r) => r.deliveredAt)),
    e2e: concat(results.map((r) => r.e2e)),
    ack: concat(results.map((r) => r.ack)),
    late: concat(results.map((r) => r.late)),
    warmDeliveredAt: concat(results.map((r) => r.warmDeliveredAt)),
    measureStart: Math.min(...results.map((r) => r.measureStart)),
    measureEnd: Math.max(...results.map((r) => r.measureEnd)),
    lastDelivery: Math.max(...results.map((r) => r.lastDelivery)),
  };
}
