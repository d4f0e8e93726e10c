// A load worker: many real socket.io-client users in one process, driven by the orchestrator over IPC.
// Each measured message carries its send time (performance.timeOrigin + now(), comparable across processes on one
// machine) in its content, so every receiver can compute the end-to-end latency.
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import { ServerEvent, type Conversation, type Message } from '@parley/contracts/wire';
import { GroupRun } from './group-load.js';
import type { BenchUser, FromWorker, ToWorker, WorkerResult } from './protocol.js';

const now = () => performance.timeOrigin + performance.now();
const send = (m: FromWorker) => process.send!(m);

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
let run: { tag: string; measuring: boolean; result: WorkerResult } | undefined;
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
  const socket = io(`${user.url}/chat`, {
    auth: { token: user.token, userId: user.id },
    transports: ['websocket'],
    reconnection,
    reconnectionDelay: 500,
    reconnectionDelayMax: 3000,
    randomizationFactor: 0.5,
    forceNew: true,
  });
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
    await new Promise((r) => setTimeout(r, 250 * 2 ** attempt * (0.5 + Math.random())));
  }
}

function onReceive(c: Client, msg: { content: string }): void {
  // content: "<tag>|<m|w>|<senderId>|<n>|<sentAt>|padding"
  const [tag, phase, sender, n, sentAt] = msg.content.split('|');
  if (!run || tag !== run.tag || phase !== 'm') return;
  const key = `${sender}:${n}`;
  const r = run.result;
  if (c.seen.has(key)) {
    r.duplicated++;
    return;
  }
  c.seen.add(key);
  const at = now();
  r.delivered++;
  r.e2e.push(at - Number(sentAt));
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
  const result: WorkerResult = {
    sent: 0,
    acked: 0,
    failedAcks: 0,
    expected: 0,
    delivered: 0,
    duplicated: 0,
    outOfOrder: 0,
    e2e: [],
    ack: [],
    measureStart: 0,
    measureEnd: 0,
    lastDelivery: 0,
  };
  run = { tag: m.tag, measuring: false, result };
  const senders = clients.filter((c) => c.user.sends && c.socket.connected);
  const interval = 1000 / m.ratePerSender;
  const start = now();
  const warmEnd = start + m.warmupMs;
  const end = warmEnd + m.durationMs;
  result.measureStart = warmEnd;
  result.measureEnd = end;
  // Each sender has its own schedule, offset so sends spread evenly over the interval.
  const next = senders.map((_, i) => start + (interval * i) / senders.length);
  const pending: Promise<void>[] = [];
  while (now() < end) {
    const t = now();
    for (let i = 0; i < senders.length; i++) {
      while (next[i]! <= t && next[i]! < end) {
        pending.push(emit(senders[i]!, next[i]! >= warmEnd ? 'm' : 'w', result, m.tag));
        next[i]! += interval;
      }
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, m.drainMs))]);
  // Wait for the last deliveries (or the drain time).
  const drainEnd = now() + m.drainMs;
  while (now() < drainEnd && result.delivered + result.duplicated < result.expected) {
    await new Promise((r) => setTimeout(r, 20));
  }
  run = undefined;
  send({ type: 'result', result });
}

async function emit(c: Client, phase: 'm' | 'w', r: WorkerResult, tag: string): Promise<void> {
  const sentAt = now();
  const n = c.n++;
  const content = `${tag}|${phase}|${c.user.id}|${n}|${sentAt.toFixed(3)}|${'x'.repeat(40)}`;
  if (phase === 'm') r.sent++;
  try {
    const ack = (await c.socket.timeout(10_000).emitWithAck('send-message', {
      sender_id: c.user.id,
      conversation_id: c.user.conversationId,
      message_type: 'text',
      content,
      client_message_id: `${tag}-${c.user.id}-${n}`,
    })) as { success?: boolean };
    if (phase !== 'm') return;
    if (ack?.success) {
      r.acked++;
      r.ack.push(now() - sentAt);
      r.expected += receiversOf.get(c.user.conversationId) ?? 1;
    } else {
      r.failedAcks++;
    }
  } catch {
    if (phase === 'm') r.failedAcks++;
  }
}
