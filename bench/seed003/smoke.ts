// Smoke test of the seed-003 design (bench/seed003/start.ts): 2 gateways + 2 chats services, 3 pairs of real
// socket.io-client users across the two gateways, joins, messages both ways, errors; then, with --load, a short
// load run. Exits 1 on any failed check, and always stops everything it started.
//
//   npx tsx bench/seed003/smoke.ts                       # functional checks only
//   npx tsx bench/seed003/smoke.ts --load 100 10 100     # then 100 msg/s for 10 s over 100 pairs (200 sockets)
//   --gateways N --chats M                               # another topology (default 2 and 2)
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import type { BenchUser } from '../protocol.js';
import { startSeed003, type Seed003System } from './start.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.indexOf(`--${name}`);
const num = (name: string, at: number, def: number) => {
  const i = flag(name);
  const v = i >= 0 ? Number(args[i + at]) : NaN;
  return Number.isFinite(v) ? v : def;
};
const gateways = num('gateways', 1, 2);
const chats = num('chats', 1, 2);
const load =
  flag('load') >= 0
    ? { rate: num('load', 1, 100), seconds: num('load', 2, 10), pairs: num('load', 3, 100) }
    : undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
/** Resolves when `cond` holds, or after `ms` (the check that follows then fails and says what it saw). */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = now() + ms;
  while (!cond() && now() < deadline) await sleep(20);
}
let failures = 0;
const failed: string[] = [];
function check(ok: boolean, what: string): void {
  if (!ok) {
    failures++;
    failed.push(what);
  }
  console.log(`${ok ? '  ok  ' : '  FAIL'} ${what}`);
}

interface Received {
  id: number;
  sender_id: number;
  conversation_id: number;
  content: string;
  conversation?: { id: number; sender_id: number; receiver_id: number };
}

interface Client {
  user: BenchUser;
  socket: Socket;
  received: Received[];
  sent: Received[];
  errors: unknown[];
  typing: unknown[];
}

function connect(user: BenchUser, how: 'query' | 'auth'): Promise<Client> {
  const socket = io(`${user.url}/chat`, {
    ...(how === 'query' ? { query: { userId: user.id } } : { auth: { token: user.token, userId: user.id } }),
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const c: Client = { user, socket, received: [], sent: [], errors: [], typing: [] };
  socket.on('receive-message', (m: Received) => c.received.push(m));
  socket.on('message-sent', (m: Received) => c.sent.push(m));
  socket.on('message-error', (e: unknown) => c.errors.push(e));
  socket.on('user-typing', (t: unknown) => c.typing.push(t));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(c));
    socket.once('connect_error', reject);
  });
}

async function join(c: Client, conversationId = c.user.conversationId) {
  const joined = new Promise<unknown>((r) => c.socket.once('joined-conversation', r));
  const ack = (await c.socket
    .timeout(10_000)
    .emitWithAck('join-conversation', { conversationId, userId: c.user.id })) as {
    success?: boolean;
    conversationId?: number;
    error?: string;
  };
  return {
    ack,
    joined: ack.success ? await Promise.race([joined, sleep(2000).then(() => undefined)]) : undefined,
  };
}

function sendMessage(c: Client, content: string, extra: object = {}) {
  return c.socket.timeout(10_000).emitWithAck('send-message', {
    sender_id: c.user.id,
    conversation_id: c.user.conversationId,
    message_type: 'text',
    content,
    ...extra,
  }) as Promise<{ success?: boolean; message?: Received; error?: string }>;
}

async function functional(sys: Seed003System): Promise<void> {
  const users = await sys.users(3, 'smoke');
  check(users.length === 6 && (users[0]!.url !== users[1]!.url) === gateways > 1, 'users(3) gives 3 pairs');
  // Member a connects with ?userId=, member b with auth.userId, each on its own gateway.
  const clients = await Promise.all(users.map((u, i) => connect(u, i % 2 === 0 ? 'query' : 'auth')));
  const joins = await Promise.all(clients.map((c) => join(c)));
  check(
    joins.every((j, i) => j.ack.success === true && j.ack.conversationId === users[i]!.conversationId),
    'join-conversation acks {success: true, conversationId} for all 6',
  );
  check(
    joins.every((j) => (j.joined as { success?: boolean } | undefined)?.success === true),
    'joined-conversation emitted to all 6',
  );

  // Someone else's conversation is refused.
  const stranger = await join(clients[0]!, users[2]!.conversationId);
  check(
    stranger.ack.success === false && stranger.ack.error === 'Unauthorized to join this conversation',
    `joining another pair's conversation is refused (${stranger.ack.error})`,
  );

  // Messages both ways: every user sends 5, the bench's extra field included.
  const perUser = 5;
  const acks = await Promise.all(
    clients.flatMap((c) =>
      Array.from({ length: perUser }, (_, n) =>
        sendMessage(c, `smoke|${c.user.id}|${n}`, { client_message_id: `smoke-${c.user.id}-${n}` }),
      ),
    ),
  );
  check(
    acks.every((a) => a.success === true && typeof a.message?.id === 'number'),
    `${acks.length} send-message acks are {success: true, message}`,
  );
  check(
    acks.every((a) => a.message?.conversation?.id === a.message?.conversation_id),
    'the message carries its conversation {id, sender_id, receiver_id}',
  );
  await until(() => clients.every((c) => c.received.length >= perUser && c.sent.length >= perUser));
  await sleep(300); // and time for a duplicate to show
  for (let i = 0; i < clients.length; i++) {
    const c = clients[i]!;
    const other = clients[i % 2 === 0 ? i + 1 : i - 1]!;
    const fromOther = c.received.filter((m) => m.sender_id === other.user.id);
    const contents = new Set(fromOther.map((m) => m.content));
    check(
      fromOther.length === perUser && contents.size === perUser && c.received.length === perUser,
      `user ${c.user.id} (${c.user.url}) got each of ${other.user.id}'s ${perUser} messages once (${c.received.length} receive-message)`,
    );
    check(
      c.sent.length === perUser,
      `user ${c.user.id} got message-sent for each of its own (${c.sent.length})`,
    );
  }

  // Validation, as in the seed.
  const bad = await clients[0]!.socket.timeout(10_000).emitWithAck('send-message', {
    conversation_id: users[0]!.conversationId,
    message_type: 'text',
    content: 'no sender',
  });
  await sleep(200);
  const badError = (bad as { error?: string }).error ?? '';
  check(
    (bad as { success?: boolean }).success === false &&
      badError === 'sender_id should not be empty, sender_id must be an integer number',
    `a send without sender_id is refused: "${badError}"`,
  );
  check(
    clients[0]!.errors.some((e) => (e as { error?: string }).error === badError),
    'and message-error says the same',
  );
  const stringId = await sendMessage(clients[0]!, 'x', { sender_id: String(users[0]!.id) });
  check(stringId.success === false, `sender_id as a string is refused (${stringId.error})`);
  const notMine = await clients[0]!.socket.timeout(10_000).emitWithAck('send-message', {
    sender_id: users[0]!.id,
    conversation_id: users[2]!.conversationId,
    message_type: 'text',
    content: 'not my conversation',
  });
  check(
    (notMine as { error?: string }).error === 'Unauthorized',
    'sending to a conversation not yours: Unauthorized',
  );
  const missing = await clients[0]!.socket.timeout(10_000).emitWithAck('send-message', {
    sender_id: users[0]!.id,
    conversation_id: 999_999_999,
    message_type: 'text',
    content: 'nowhere',
  });
  check(
    (missing as { error?: string }).error === 'Conversation not found',
    'sending to no conversation: Conversation not found',
  );

  // Typing reaches the other member only.
  clients[0]!.socket.emit('typing', {
    conversationId: users[0]!.conversationId,
    userId: users[0]!.id,
    isTyping: true,
  });
  await until(() => clients[1]!.typing.length > 0, 5000);
  await sleep(300);
  check(
    clients[1]!.typing.length === 1 && clients[0]!.typing.length === 0 && clients[3]!.typing.length === 0,
    'typing reaches the other member (on the other gateway), not the sender nor another pair',
  );

  // After leave-conversation, b hears nothing more of the conversation.
  const left = (await clients[1]!.socket
    .timeout(10_000)
    .emitWithAck('leave-conversation', { conversationId: users[1]!.conversationId })) as {
    success?: boolean;
  };
  const before = clients[1]!.received.length;
  await sendMessage(clients[0]!, 'after leave');
  await sleep(1000);
  check(
    left.success === true && clients[1]!.received.length === before,
    'leave-conversation: no more receive-message',
  );

  // A socket without a userId is disconnected.
  const anon = io(`${users[0]!.url}/chat`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const anonError = await new Promise<unknown>((resolve) => {
    anon.on('error', resolve);
    setTimeout(() => resolve(undefined), 3000);
  });
  await until(() => !anon.connected, 3000);
  check(
    (anonError as { message?: string } | undefined)?.message === 'userId is required' && !anon.connected,
    'a socket without userId gets an error and is disconnected',
  );
  anon.close();

  // What Nest's pub/sub transport does with several chats instances: each stores every message.
  const stored = await countMessages(sys.database);
  const acked = acks.length + 1; // + "after leave"
  console.log(
    `  note: ${acked} messages acked, ${stored} rows stored (${chats} chats instance(s) each handle every request)`,
  );
  check(stored === acked * chats, `rows stored = acked × chats instances (${stored} = ${acked} × ${chats})`);
  for (const c of clients) c.socket.close();
}

async function countMessages(database: string): Promise<number> {
  const url = new URL(process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM messages');
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** CPU seconds used so far by each process (utime + stime from /proc, Linux). */
function cpuSeconds(pids: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      out[name] = NaN;
    }
  }
  return out;
}

function pct(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function loadRun(sys: Seed003System, rate: number, seconds: number, pairs: number): Promise<void> {
  const users = await sys.users(pairs, 'load');
  const t0 = now();
  const clients: Client[] = [];
  for (let i = 0; i < users.length; i += 100) {
    clients.push(...(await Promise.all(users.slice(i, i + 100).map((u) => connect(u, 'auth')))));
  }
  const joins = await Promise.all(clients.map((c) => join(c)));
  console.log(
    `  load: ${clients.length} sockets connected, ${joins.filter((j) => j.ack.success).length} joined in ${Math.round(now() - t0)} ms`,
  );
  const e2e: number[] = [];
  const ackMs: number[] = [];
  let sent = 0;
  let acked = 0;
  let failed = 0;
  let delivered = 0;
  let duplicated = 0;
  const seen = new Set<string>();
  for (const c of clients) {
    c.socket.on('receive-message', (m: Received) => {
      const [tag, sender, n, at] = m.content.split('|');
      if (tag !== 'load') return;
      const key = `${c.user.id}:${sender}:${n}`;
      if (seen.has(key)) return void duplicated++;
      seen.add(key);
      delivered++;
      e2e.push(now() - Number(at));
    });
  }
  // Every socket sends rate / sockets messages per second, on a schedule spread over the interval.
  const interval = (1000 * clients.length) / rate;
  // 2 s of warm-up first (not counted), so the JIT has compiled the paths before the measured seconds.
  const start = now();
  const warmEnd = start + 2000;
  const end = warmEnd + seconds * 1000;
  const next = clients.map((_, i) => start + (interval * i) / clients.length);
  const counters = clients.map(() => 0);
  const pending: Promise<void>[] = [];
  let cpuBefore: Record<string, number> | undefined;
  while (now() < end) {
    if (!cpuBefore && now() >= warmEnd) cpuBefore = cpuSeconds({ ...sys.pids, smoke: process.pid });
    const t = now();
    for (let i = 0; i < clients.length; i++) {
      while (next[i]! <= t && next[i]! < end) {
        const c = clients[i]!;
        const measured = next[i]! >= warmEnd;
        const sentAt = now();
        if (measured) sent++;
        const content = `${measured ? 'load' : 'warm'}|${c.user.id}|${counters[i]!++}|${sentAt.toFixed(3)}|${'x'.repeat(40)}`;
        pending.push(
          sendMessage(c, content)
            .then((a) => {
              if (!measured) return;
              if (a.success) {
                acked++;
                ackMs.push(now() - sentAt);
              } else failed++;
            })
            .catch(() => void (measured && failed++)),
        );
        next[i]! += interval;
      }
    }
    await sleep(1);
  }
  const cpuAfter = cpuSeconds({ ...sys.pids, smoke: process.pid });
  await Promise.all(pending);
  const drainEnd = now() + 5000;
  while (delivered + duplicated < acked && now() < drainEnd) await sleep(20);
  const f = (x: number) => x.toFixed(1);
  console.log(
    `  load @ ${rate}/s for ${seconds} s: sent ${sent} acked ${acked} failed ${failed} delivered ${delivered} ` +
      `lost ${acked - delivered} dup ${duplicated} (${f(acked / seconds)}/s acked)`,
  );
  console.log(
    `  load e2e p50 ${f(pct(e2e, 50))} p99 ${f(pct(e2e, 99))} max ${f(pct(e2e, 100))} ms | ` +
      `ack p50 ${f(pct(ackMs, 50))} p99 ${f(pct(ackMs, 99))} ms`,
  );
  console.log(
    `  load CPU over the measured ${seconds} s: ` +
      Object.entries(cpuAfter)
        .map(([n, v]) => `${n} ${Math.round(((v - (cpuBefore?.[n] ?? NaN)) / seconds) * 100)}%`)
        .join(', '),
  );
  check(
    sent === acked && delivered === acked && duplicated === 0,
    'load: every message acked and delivered once',
  );
  for (const c of clients) c.socket.close();
}

async function main(): Promise<void> {
  const started = now();
  console.log(`seed003 smoke: ${gateways} gateway(s), ${chats} chats service(s)`);
  const sys = await startSeed003({ gateways, chats });
  console.log(
    `  started in ${Math.round(now() - started)} ms: ${sys.urls.join(' ')}  db ${sys.database}  pids ${JSON.stringify(sys.pids)}`,
  );
  try {
    await functional(sys);
    if (load) await loadRun(sys, load.rate, load.seconds, load.pairs);
  } catch (err) {
    failures++;
    failed.push(String(err));
    console.error(err);
  } finally {
    await sys.stop();
  }
  // Nothing left behind: the processes and the database are gone.
  const alive = Object.entries(sys.pids).filter(([, pid]) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  check(
    alive.length === 0,
    `stop(): processes gone${alive.length ? ` (alive: ${alive.map(([n]) => n).join(', ')})` : ''}`,
  );
  const admin = new pg.Client({
    connectionString: process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  });
  await admin.connect();
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [sys.database]);
  await admin.end();
  check(rowCount === 0, 'stop(): database dropped');
  console.log(
    failures
      ? `seed003 smoke: ${failures} check(s) FAILED:\n${failed.map((f) => `  - ${f}`).join('\n')}`
      : 'seed003 smoke: all checks passed',
  );
  process.exit(failures ? 1 : 0);
}

await main();
