// A load worker: many real socket.io-client users in one process, driven by the orchestrator over IPC (structured
// clone: bench/lib.ts, Worker). Open loop: every sender has a fixed schedule, and each measured message carries its
// *scheduled* send time (performance.timeOrigin + now(), one clock for every process of the machine) in its
// content, so that every receiver's end-to-end latency, and the sender's ack latency, count from when the message
// was due, however late the send loop got to it (how late is reported too: no coordinated omission).
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import { ServerEvent, type Conversation, type Message } from '@parley/contracts/wire';
import { GroupRun } from './group-load.js';
import { Seed004Socket } from './seed004-socket.js';
import type { BenchUser, FromWorker, ToWorker, WorkerResult } from './protocol.js';

const now = () => performance.timeOrigin + performance.now();
const send = (m: FromWorker) => process.send!(m);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface Client {
  user: BenchUser;
  socket: Socket;
  joined: boolean;
  reconnectedAt?: number;
  /** Highest message number seen per sender, for the out-of-order count. */
  lastFrom: Map<number, number>;
  seen: Set<string>;
  n: number;
}

let clients: Client[] = [];
/** Connection errors and disconnect reasons, by message (reported with the counts). */
const events = new Map<string, number>();
const tally = (what: string) => events.set(what, (events.get(what) ?? 0) + 1);
/** The samples of the run in progress, collected as plain arrays and sent as Float64Arrays. */
interface Samples {
  deliveredAt: number[];
  e2e: number[];
  ack: number[];
  late: number[];
  warmDeliveredAt: number[];
}
type Counts = Omit<WorkerResult, keyof Samples>;
let run: { tag: string; counts: Counts; samples: Samples } | undefined;
/** The group scenario's run in progress (bench/group-load.ts). */
let groupRun: GroupRun | undefined;
/** How many receivers each conversation has in this whole run (other members), to count expected deliveries. */
const receiversOf = new Map<number, number>();

process.on('message', (m: ToWorker) => {
  void handle(m).catch((err: unknown) => send({ type: 'error', message: String(err) }));
});

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'connect') return connectAll(m.users, m.join, m.reconnection ?? false, m.joinAttempts ?? 1);
  if (m.type === 'run') return runLoad(m);
  if (m.type === 'run-groups') {
    const g = (groupRun = new GroupRun(m.tag));
    const result = await g.run(clients, m);
    groupRun = undefined;
    send({ type: 'group-result', result });
    return;
  }
  if (m.type === 'count') {
    send({
      type: 'count',
      connected: clients.filter((c) => c.socket.connected).length,
      joined: clients.filter((c) => c.joined).length,
      reconnectedAt: clients.map((c) => c.reconnectedAt ?? 0),
      events: Object.fromEntries(events),
    });
    return;
  }
  for (const c of clients) c.socket.close();
  clients = [];
  process.exit(0);
}

/** How often a refused join-conversation is tried, and why the joins of the current connect were refused. */
let joinAttempts = 1;
const joinErrors = new Map<string, number>();

async function connectAll(
  users: BenchUser[],
  join: boolean,
  reconnection: boolean,
  attempts: number,
): Promise<void> {
  const started = now();
  let failed = 0;
  joinAttempts = attempts;
  joinErrors.clear();
  const batch = 200; // connect in waves, as a real population would, not 10,000 handshakes in one tick
  for (let i = 0; i < users.length; i += batch) {
    const wave = await Promise.all(users.slice(i, i + batch).map((u) => connectOne(u, join, reconnection)));
    failed += wave.filter((c) => !c).length;
    clients.push(...wave.filter((c): c is Client => c !== undefined));
  }
  send({
    type: 'connected',
    connected: clients.length,
    failed,
    joined: clients.filter((c) => c.joined).length,
    joinErrors: Object.fromEntries(joinErrors),
    ms: now() - started,
  });
}

function connectOne(user: BenchUser, join: boolean, reconnection: boolean): Promise<Client | undefined> {
  const socket =
    user.transport === 'seed004'
      ? (new Seed004Socket(user.url, user.id, user.peerId!, user.token) as unknown as Socket)
      : socketIo(user, reconnection);
  return track(user, socket, join, reconnection);
}

function socketIo(user: BenchUser, reconnection: boolean): Socket {
  return io(`${user.url}/chat`, {
    auth: { token: user.token, userId: user.id },
    // The seed-003 design (bench/seed003) reads the user from the query, as the seed's client does.
    query: { userId: String(user.id) },
    transports: ['websocket'],
    reconnection,
    reconnectionDelay: 500,
    reconnectionDelayMax: 3000,
    randomizationFactor: 0.5,
    forceNew: true,
  });
}

function track(
  user: BenchUser,
  socket: Socket,
  join: boolean,
  reconnection: boolean,
): Promise<Client | undefined> {
  const client: Client = { user, socket, joined: false, lastFrom: new Map(), seen: new Set(), n: 0 };
  if (user.groupSize === undefined) {
    socket.on(ServerEvent.ReceiveMessage, (msg: { content: string }) => onReceive(client, msg));
  } else {
    socket.on(ServerEvent.ReceiveMessage, (msg: Message) => groupRun?.onReceive(client, msg));
    socket.on(ServerEvent.ConversationUpdated, (payload: { conversation: Conversation }) =>
      groupRun?.onUpdate(payload),
    );
  }
  if (reconnection) {
    socket.on('disconnect', (reason) => tally(`disconnect: ${reason}`));
    socket.on('connect_error', (err) => tally(`connect_error: ${err.message}`));
    socket.io.on('reconnect', () => {
      client.joined = false;
      void joinConversation(client).then(() => (client.reconnectedAt = now()));
    });
  }
  return new Promise((resolve) => {
    // Only the first connection's failure gives up on this user; later ones are the reconnection's business.
    const failed = () => {
      socket.close();
      resolve(undefined);
    };
    socket.once('connect_error', failed);
    socket.once('connect', () => {
      socket.off('connect_error', failed);
      if (!join) return resolve(client);
      void joinConversation(client).then(() => resolve(client));
    });
  });
}

/**
 * Joins the user's conversation; a refused join (the chats service sheds reads that waited too long with "Service
 * busy") is tried again after a growing pause, as an app would, up to `joinAttempts` times in all.
 */
async function joinConversation(c: Client): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const ack = (await c.socket
      .timeout(20_000)
      .emitWithAck('join-conversation', { conversationId: c.user.conversationId, userId: c.user.id })
      .catch(() => undefined)) as { success?: boolean; error?: string } | undefined;
    c.joined = ack?.success === true;
    if (c.joined) return;
    const why = ack?.error ?? 'no ack within 20 s';
    joinErrors.set(why, (joinErrors.get(why) ?? 0) + 1);
    if (attempt >= joinAttempts) return;
    await sleep(250 * 2 ** attempt * (0.5 + Math.random()));
  }
}

function onReceive(c: Client, msg: { content: string }): void {
  // content: "<tag>|<m|w>|<senderId>|<n>|<scheduledAt>|padding"
  const [tag, phase, sender, n, scheduledAt] = msg.content.split('|');
  if (!run || tag !== run.tag) return;
  if (phase !== 'm') {
    run.samples.warmDeliveredAt.push(now());
    return;
  }
  const key = `${sender}:${n}`;
  const r = run.counts;
  if (c.seen.has(key)) {
    r.duplicated++;
    return;
  }
  c.seen.add(key);
  const at = now();
  r.delivered++;
  run.samples.deliveredAt.push(at);
  run.samples.e2e.push(at - Number(scheduledAt));
  r.lastDelivery = Math.max(r.lastDelivery, at);
  const last = c.lastFrom.get(Number(sender)) ?? -1;
  if (Number(n) < last) r.outOfOrder++;
  else c.lastFrom.set(Number(sender), Number(n));
}

async function runLoad(m: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  for (const c of clients) {
    c.seen.clear();
    c.lastFrom.clear();
    receiversOf.set(c.user.conversationId, 1); // 1:1 conversations: one other member
  }
  const start = m.startAt;
  const warmEnd = start + m.warmupMs;
  const end = warmEnd + m.durationMs;
  const counts: Counts = {
    sent: 0,
    acked: 0,
    failedAcks: 0,
    expected: 0,
    delivered: 0,
    duplicated: 0,
    outOfOrder: 0,
    measureStart: warmEnd,
    measureEnd: end,
    lastDelivery: 0,
  };
  const samples: Samples = { deliveredAt: [], e2e: [], ack: [], late: [], warmDeliveredAt: [] };
  run = { tag: m.tag, counts, samples };
  const senders = clients.filter((c) => c.user.sends && c.socket.connected);
  const interval = 1000 / m.ratePerSender;
  // Each sender has its own schedule, offset so sends spread evenly over the interval.
  const next = senders.map((_, i) => start + (interval * i) / senders.length);
  const pending: Promise<void>[] = [];
  await sleep(start - now());
  // Each pass makes every send that is due, then sleeps until the next one is (a timer's 1 ms at least). The last
  // pass runs at `end`, so that a loop woken late still makes every send due before it.
  for (;;) {
    const t = Math.min(now(), end);
    let due = Infinity;
    for (let i = 0; i < senders.length; i++) {
      while (next[i]! <= t && next[i]! < end) {
        const measured = next[i]! >= warmEnd;
        if (measured) samples.late.push(now() - next[i]!);
        pending.push(emit(senders[i]!, next[i]!, measured ? 'm' : 'w', m.tag));
        next[i]! += interval;
      }
      due = Math.min(due, next[i]!);
    }
    if (t >= end) break;
    await sleep(Math.min(due, end) - now());
  }
  await Promise.race([Promise.all(pending), sleep(m.drainMs)]);
  // Wait for the last deliveries (or the drain time).
  const drainEnd = now() + m.drainMs;
  while (now() < drainEnd && counts.delivered + counts.duplicated < counts.expected) await sleep(20);
  run = undefined;
  const f64 = (a: number[]) => Float64Array.from(a);
  send({
    type: 'result',
    result: {
      ...counts,
      deliveredAt: f64(samples.deliveredAt),
      e2e: f64(samples.e2e),
      ack: f64(samples.ack),
      late: f64(samples.late),
      warmDeliveredAt: f64(samples.warmDeliveredAt),
    },
  });
}

async function emit(c: Client, scheduledAt: number, phase: 'm' | 'w', tag: string): Promise<void> {
  const n = c.n++;
  const content = `${tag}|${phase}|${c.user.id}|${n}|${scheduledAt.toFixed(3)}|${'x'.repeat(40)}`;
  // `run` is this run's until it reports; the counts of a run that ended (drain timed out) are left alone.
  const own = run;
  if (phase === 'm' && own) own.counts.sent++;
  try {
    const ack = (await c.socket.timeout(10_000).emitWithAck('send-message', {
      sender_id: c.user.id,
      conversation_id: c.user.conversationId,
      message_type: 'text',
      content,
      client_message_id: `${tag}-${c.user.id}-${n}`,
    })) as { success?: boolean };
    if (phase !== 'm' || !own) return;
    if (ack?.success) {
      own.counts.acked++;
      own.samples.ack.push(now() - scheduledAt);
      own.counts.expected += receiversOf.get(c.user.conversationId) ?? 1;
    } else {
      own.counts.failedAcks++;
    }
  } catch {
    if (phase === 'm' && own) own.counts.failedAcks++;
  }
}
