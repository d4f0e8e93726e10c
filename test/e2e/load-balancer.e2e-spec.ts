import type { AuthResult, Conversation, Message, RecentMessagesEvent } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connected,
  conversationBetween,
  openSocket,
  PrivateNginx,
  registerUser,
  request,
  sleep,
  waitFor,
  type AccessLogEntry,
  type ChatClient,
} from '@parley/testing';
import { Frames } from '../compat/support.js';

// A real load balancer: Debian's nginx runs the project's own deploy/nginx/nginx.conf in front of 2 gateways (and 2
// chats services), and every client goes through it: Socket.IO over WebSocket, over long-polling, and polling
// upgraded to WebSocket; seed 004's plain WebSocket; REST. The gateways are reached directly only for /metrics.
//
// nginx hashes Socket.IO requests on the client address (polling stickiness). Every test client would come from
// 127.0.0.1 and land on one gateway, so the clients connect from distinct loopback addresses (127.0.0.x), sorted
// first by the gateway nginx sends each of them to; the tests then check, in nginx's access log and in the gateways'
// metrics, that both gateways served them.
const hasNginx = PrivateNginx.available();
if (!hasNginx) {
  console.warn("test/e2e/load-balancer: skipped, Debian's nginx is not installed (apt-get install nginx)");
}

type Kind = 'websocket' | 'polling' | 'upgrade';
const KINDS: Kind[] = ['websocket', 'polling', 'upgrade'];
const TRANSPORTS: Record<Kind, Array<'polling' | 'websocket'>> = {
  websocket: ['websocket'],
  polling: ['polling'],
  upgrade: ['polling', 'websocket'], // socket.io-client's default: a polling handshake, then the upgrade
};

let cluster: Cluster;
let nginx: PrivateNginx;
/** Client addresses by the gateway that nginx's hash sends their Socket.IO requests to: gateway 0's, gateway 1's. */
const addresses: [string[], string[]] = [[], []];

/** The index of the gateway at `upstream` (host:port, as nginx logs it). */
function gatewayOf(upstream: string): number {
  const index = cluster.gateways.findIndex((g) => new URL(g.url).host === upstream);
  if (index < 0) throw new Error(`${upstream} is none of the gateways`);
  return index;
}

/** Each gateway's connected sockets (its /metrics), once they equal `expected` (a closed socket goes a moment late). */
async function socketsPerGateway(expected: number[]): Promise<number[]> {
  const count = () => Promise.all(cluster.gateways.map((g) => g.metric('parley_sockets_connected')));
  await waitFor(`sockets per gateway ${JSON.stringify(expected)}`, async () =>
    (await count()).every((n, i) => n === expected[i]),
  ).catch(() => undefined);
  return count();
}

/** A Socket.IO client through nginx, from `address`, over the transports of `kind`. */
function openThroughNginx(user: AuthResult, kind: Kind, address: string, reconnection = false): ChatClient {
  return openSocket(nginx.url, {
    token: user.tokens.access,
    transports: TRANSPORTS[kind],
    localAddress: address,
    reconnection,
  });
}

function transportOf(socket: ChatClient): string {
  return (socket.io as unknown as { engine: { transport: { name: string } } }).engine.transport.name;
}

async function join(socket: ChatClient, user: AuthResult, conversationId: number, sinceSeq?: number) {
  return request<{ success: boolean; error?: string }>(socket, 'join-conversation', {
    conversationId,
    userId: user.user.id,
    ...(sinceSeq === undefined ? {} : { since_seq: sinceSeq }),
  });
}

async function send(
  socket: ChatClient,
  user: AuthResult,
  conversationId: number,
  content: string,
  cmid: string,
  timeoutMs?: number,
) {
  return request<{ success: boolean; message?: Message; error?: string }>(
    socket,
    'send-message',
    {
      sender_id: user.user.id,
      conversation_id: conversationId,
      message_type: 'text',
      content,
      client_message_id: cmid,
    },
    timeoutMs,
  );
}

/** Each of the conversations' messages: stored once per client_message_id, seqs exactly 1..n. */
async function expectStoredOnce(conversationIds: number[], perConversation: number): Promise<void> {
  const rows = await cluster.db.sql<{ conversation_id: number; seqs: number[]; cmids: string[] }>(
    `SELECT conversation_id, array_agg(seq ORDER BY seq) AS seqs, array_agg(DISTINCT client_message_id) AS cmids
       FROM messages WHERE conversation_id = ANY($1) GROUP BY conversation_id`,
    [conversationIds],
  );
  expect(rows).toHaveLength(conversationIds.length);
  for (const row of rows) {
    expect(row.seqs.map(Number)).toEqual(Array.from({ length: perConversation }, (_, i) => i + 1));
    expect(row.cmids).toHaveLength(perConversation);
  }
}

/** The access log's entries from `from` on (an index into `nginx.entries()`). */
function entriesSince(from: number): AccessLogEntry[] {
  return nginx.entries().slice(from);
}

describe.skipIf(!hasNginx)('through nginx (deploy/nginx/nginx.conf) in front of 2 gateways', () => {
  beforeAll(async () => {
    cluster = await Cluster.start({
      gateways: 2,
      chats: 2,
      // Rate limits have their own tests; here they would only make the outcome depend on speed.
      gatewayEnv: {
        RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
        RATE_LIMIT_MESSAGES_BURST: '100000',
        RATE_LIMIT_JOINS_BURST: '100000',
        RATE_LIMIT_CONVERSATIONS_BURST: '100000',
        RATE_LIMIT_HISTORY_BURST: '100000',
      },
    });
    nginx = await new PrivateNginx().start(cluster.gateways.map((g) => g.url));
    // One polling handshake from each address, until each gateway has enough of them.
    for (let i = 10; i < 250 && addresses.some((a) => a.length < 6); i++) {
      const address = `127.0.0.${i}`;
      const upstream = await nginx.upstreamFor(address, '/socket.io/?EIO=4&transport=polling');
      addresses[gatewayOf(upstream)]!.push(address);
    }
    expect(
      addresses.every((a) => a.length >= 6),
      `addresses per gateway: ${JSON.stringify(addresses)}`,
    ).toBe(true);
  });
  afterAll(async () => {
    await nginx?.stop();
    await cluster?.stop();
  });

  it('Socket.IO over WebSocket, polling and polling→WebSocket: sticky, on both gateways, each message stored once and delivered once in order, both ways', async () => {
    const from = nginx.entries().length;
    // Three conversations, each across two transports and across the two gateways; each transport on both.
    const clients = await Promise.all(
      KINDS.map(async (kind, k) => {
        const sides = [
          { kind, gateway: 0, address: addresses[0][k]! },
          { kind: KINDS[(k + 1) % KINDS.length]!, gateway: 1, address: addresses[1][k]! },
        ];
        const users = await Promise.all(sides.map(() => registerUser(nginx.url, 'lb')));
        const conversation = await conversationBetween(nginx.url, users[0]!, users[1]!);
        return Promise.all(
          sides.map(async (side, i) => {
            const user = users[i]!;
            const socket = openThroughNginx(user, side.kind, side.address);
            const received: Message[] = [];
            socket.on('receive-message', (m) => received.push(m));
            await connected(socket);
            expect((await join(socket, user, conversation.id)).success).toBe(true);
            return { ...side, user, socket, received, conversation, acked: [] as Message[] };
          }),
        );
      }),
    );
    const all = clients.flat();
    try {
      expect(await socketsPerGateway([3, 3])).toEqual([3, 3]);
      await waitFor('the upgrades to WebSocket', () =>
        all.every((c) => transportOf(c.socket) === (c.kind === 'polling' ? 'polling' : 'websocket')),
      );

      const n = 15;
      // Each client sends in order (waiting for each ack); all six at once.
      await Promise.all(
        all.map(async (c) => {
          for (let i = 0; i < n; i++) {
            const ack = await send(
              c.socket,
              c.user,
              c.conversation.id,
              `${c.kind}@${c.gateway} ${i}`,
              `lb-${c.user.user.id}-${i}`,
            );
            expect(ack.success, ack.error).toBe(true);
            c.acked.push(ack.message!);
          }
        }),
      );
      for (const me of all) {
        await waitFor(`${n} messages on ${me.kind}@${me.gateway}`, () => me.received.length >= n);
      }
      await sleep(300); // nothing more arrives
      for (const [a, b] of clients) {
        for (const [me, peer] of [
          [a!, b!],
          [b!, a!],
        ] as const) {
          // Exactly the peer's messages, once each, in the order sent, as acknowledged.
          expect(me.received.map((m) => m.id)).toEqual(peer.acked.map((m) => m.id));
          expect(me.received.map((m) => m.content)).toEqual(
            Array.from({ length: n }, (_, i) => `${peer.kind}@${peer.gateway} ${i}`),
          );
        }
      }
      await expectStoredOnce(
        clients.map(([a]) => a!.conversation.id),
        2 * n,
      );
    } finally {
      for (const c of all) c.socket.close();
    }

    // nginx's view (a WebSocket's line is written when it closes): every request of a client reached the one
    // gateway its address hashes to, over the transports of its kind; both gateways served every kind.
    await waitFor('the WebSocket lines', () =>
      all
        .filter((c) => c.kind !== 'polling')
        .every((c) =>
          entriesSince(from).some((e) => e.remoteAddr === c.address && e.uri.includes('transport=websocket')),
        ),
    );
    const log = entriesSince(from).filter((e) => e.uri.startsWith('/socket.io/'));
    for (const c of all) {
      const mine = log.filter((e) => e.remoteAddr === c.address);
      const what = `${c.kind} client on gateway ${c.gateway}`;
      expect(new Set(mine.flatMap((e) => e.upstreams.map(gatewayOf))), what).toEqual(new Set([c.gateway]));
      const polls = mine.filter((e) => e.uri.includes('transport=polling'));
      const upgrades = mine.filter((e) => e.uri.includes('transport=websocket'));
      expect(
        upgrades.map((e) => e.status),
        what,
      ).toEqual(c.kind === 'polling' ? [] : [101]);
      if (c.kind === 'websocket') expect(polls, what).toEqual([]);
      // A polling session is several requests: the handshake, the namespace's connect, the polls.
      else expect(polls.length, what).toBeGreaterThanOrEqual(2);
      if (c.kind === 'upgrade') expect(upgrades[0]!.uri, what).toMatch(/[?&]sid=/);
    }
    for (const kind of KINDS) {
      expect(new Set(all.filter((c) => c.kind === kind).map((c) => c.gateway)), kind).toEqual(
        new Set([0, 1]),
      );
    }
  });

  it("seed 004's plain WebSocket (/compat/004/ws/…) in two tabs on both gateways, chatting with a Socket.IO polling client", async () => {
    const from = nginx.entries().length;
    const [a, b] = await Promise.all([registerUser(nginx.url, 'lbw'), registerUser(nginx.url, 'lbs')]);
    const url = `${nginx.url.replace(/^http/, 'ws')}/compat/004/ws/chat/${b.user.id}/?token=${a.tokens.access}`;
    // One at a time: with the first one open, least_conn sends the second to the other gateway.
    const tab1 = new Frames(url);
    const tab2 = await tab1.opened.then(() => new Frames(url));
    await tab2.opened.catch((err: unknown) => {
      tab1.close();
      throw err;
    });
    const sio = openThroughNginx(b, 'polling', addresses[1][0]!);
    const received: Message[] = [];
    sio.on('receive-message', (m) => received.push(m));
    try {
      // The first connection creates the direct conversation.
      const conversation = await waitFor('the conversation to exist', async () => {
        const list = await api<{ conversations: Conversation[] }>(
          nginx.url,
          'GET',
          '/api/chats/conversations',
          {
            token: b.tokens.access,
          },
        );
        return list.status === 200 && list.body.conversations.length === 1
          ? list.body.conversations[0]
          : undefined;
      });
      await connected(sio);
      expect((await join(sio, b, conversation.id)).success).toBe(true);

      const n = 10;
      for (let i = 0; i < n; i++) {
        tab1.send({ message: `from-ws ${i}` });
        const ack = await send(sio, b, conversation.id, `from-sio ${i}`, `lbc-${i}`);
        expect(ack.success, ack.error).toBe(true);
      }
      const isNew = (f: Record<string, unknown>) => typeof f.message === 'string';
      for (const tab of [tab1, tab2]) await tab.wait('new messages', isNew, 2 * n);
      await waitFor(`${n} messages on Socket.IO`, () => received.length >= n);
      await sleep(300); // nothing more arrives
      for (const tab of [tab1, tab2]) {
        const frames = tab.where(isNew);
        expect(frames).toHaveLength(2 * n);
        expect(new Set(frames.map((f) => f.id)).size).toBe(2 * n);
        const bySender = (id: number) => frames.filter((f) => f.sender_id === id).map((f) => f.message);
        expect(bySender(a.user.id)).toEqual(Array.from({ length: n }, (_, i) => `from-ws ${i}`));
        expect(bySender(b.user.id)).toEqual(Array.from({ length: n }, (_, i) => `from-sio ${i}`));
        expect(tab.where((f) => 'error' in f)).toEqual([]);
      }
      expect(received.map((m) => m.content)).toEqual(Array.from({ length: n }, (_, i) => `from-ws ${i}`));
      const seqs = await cluster.db.sql<{ seq: number }>(
        'SELECT seq FROM messages WHERE conversation_id = $1 ORDER BY seq',
        [conversation.id],
      );
      expect(seqs.map((r) => Number(r.seq))).toEqual(Array.from({ length: 2 * n }, (_, i) => i + 1));
    } finally {
      sio.close();
      tab1.close();
      tab2.close();
    }
    await waitFor(
      'both tabs in the access log',
      () => entriesSince(from).filter((e) => e.uri.startsWith('/compat/004/ws/chat/')).length >= 2,
    );
    const tabs = entriesSince(from).filter((e) => e.uri.startsWith('/compat/004/ws/chat/'));
    expect(tabs.map((e) => e.status)).toEqual([101, 101]);
    expect(new Set(tabs.map((e) => gatewayOf(e.upstreams[0]!)))).toEqual(new Set([0, 1]));
    expect(nginx.accessLog()).not.toContain(a.tokens.access);
  });

  it('REST: register, login, send (idempotent by client_message_id), read history, spread over both gateways', async () => {
    const from = nginx.entries().length;
    const sender = await registerUser(nginx.url, 'lbr');
    const login = await api<AuthResult>(nginx.url, 'POST', '/api/auth/login', {
      body: { username: sender.user.username, password: 'correct horse battery' },
    });
    expect(login.status).toBe(200);
    const me = login.body;
    const peer = await registerUser(nginx.url, 'lbp');
    const conversation = await conversationBetween(nginx.url, me, peer);
    const socket = openThroughNginx(peer, 'websocket', addresses[0][1]!);
    const received: Message[] = [];
    socket.on('receive-message', (m) => received.push(m));
    try {
      await connected(socket);
      expect((await join(socket, peer, conversation.id)).success).toBe(true);
      const n = 10;
      const sent: Message[] = [];
      const post = (i: number) =>
        api<Message>(nginx.url, 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
          token: me.tokens.access,
          body: { message_type: 'text', content: `rest ${i}`, client_message_id: `lbr-${i}` },
        });
      for (let i = 0; i < n; i++) {
        const res = await post(i);
        expect(res.status).toBe(201);
        sent.push(res.body);
      }
      const again = await post(0);
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(sent[0]!.id);

      await waitFor(`${n} messages on Socket.IO`, () => received.length >= n);
      await sleep(300);
      expect(received.map((m) => m.id)).toEqual(sent.map((m) => m.id));
      const history = await api<{ messages: Message[] }>(
        nginx.url,
        'GET',
        `/api/chats/conversations/${conversation.id}/messages?limit=100`,
        { token: peer.tokens.access },
      );
      expect(history.status).toBe(200);
      expect(history.body.messages.map((m) => [m.seq, m.content])).toEqual(
        Array.from({ length: n }, (_, i) => [i + 1, `rest ${i}`]),
      );
      await expectStoredOnce([conversation.id], n);
    } finally {
      socket.close();
    }
    const rest = entriesSince(from).filter((e) => e.uri.startsWith('/api/'));
    expect(rest.length).toBeGreaterThan(10);
    expect(rest.every((e) => e.upstreams.length === 1 && e.status < 300)).toBe(true);
    expect(new Set(rest.map((e) => gatewayOf(e.upstreams[0]!)))).toEqual(new Set([0, 1]));
  });

  it('drain: a gateway stopped with SIGTERM under load; its clients reconnect through nginx to the other; nothing acknowledged lost or duplicated', async () => {
    const pairs = 6;
    const users: DrainUser[] = [];
    for (let p = 0; p < pairs; p++) {
      const [a, b] = await Promise.all([registerUser(nginx.url, 'lda'), registerUser(nginx.url, 'ldb')]);
      const conversation = await conversationBetween(nginx.url, a, b);
      users.push(
        new DrainUser(a, conversation.id, KINDS[p % 3]!, 0, addresses[0][p]!, 2 * p),
        new DrainUser(b, conversation.id, KINDS[(p + 1) % 3]!, 1, addresses[1][p]!, 2 * p + 1),
      );
    }
    try {
      await Promise.all(users.map((u) => u.connect()));
      expect(await socketsPerGateway([pairs, pairs])).toEqual([pairs, pairs]);
      for (const u of users) u.start();
      await waitFor('every user acknowledged', () => users.every((u) => u.acked.size >= 5), 30_000);

      const from = nginx.entries().length;
      const exit = await cluster.gateways[1]!.stop('SIGTERM');
      expect(exit).toBe(0);
      const ackedAtExit = new Map(users.map((u) => [u, u.acked.size]));
      // Everyone is on the survivor, and every user (of every transport) is acknowledged there.
      await waitFor(
        'every user sending through the other gateway',
        async () =>
          users.every((u) => u.socket.connected && u.acked.size > ackedAtExit.get(u)! + 5) &&
          (await cluster.gateways[0]!.metric('parley_sockets_connected')) === 2 * pairs,
        30_000,
      );
      for (const u of users) u.stop();
      await Promise.all(users.map((u) => u.flush()));
      // A re-join with since_seq (what a client does after a reconnect) completes the catch-up.
      await Promise.all(users.map((u) => u.join()));

      const rows = await cluster.db.sql<{
        id: number;
        sender_id: number;
        client_message_id: string;
        conversation_id: number;
      }>(
        `SELECT id, sender_id, client_message_id, conversation_id FROM messages WHERE client_message_id LIKE 'drain-%'`,
      );
      const undelivered = () =>
        rows.filter((r) => {
          const receiver = users.find(
            (u) => u.conversationId === r.conversation_id && u.auth.user.id !== r.sender_id,
          )!;
          return !receiver.seen.has(r.id);
        });
      await waitFor('every stored message delivered', () => undelivered().length === 0).catch(
        () => undefined,
      );

      const storedBy = new Map<string, number[]>();
      for (const r of rows)
        storedBy.set(r.client_message_id, [...(storedBy.get(r.client_message_id) ?? []), r.id]);
      const acked = users.flatMap((u) => [...u.acked]);
      const lostAcked = acked.filter(([cmid]) => !storedBy.has(cmid)).map(([cmid]) => cmid);
      const wrongId = acked.filter(([cmid, id]) => storedBy.get(cmid)?.[0] !== id).map(([cmid]) => cmid);
      const storedTwice = [...storedBy].filter(([, ids]) => ids.length > 1).map(([cmid]) => cmid);
      const liveTwice = users.reduce((n, u) => n + u.liveDuplicates, 0);
      const sent = users.reduce((n, u) => n + u.created, 0);
      const unacked = users.reduce((n, u) => n + u.unacked.size, 0);
      const lost = lostAcked.length + undelivered().length;
      const duplicated = storedTwice.length + liveTwice + wrongId.length;
      const sum = (f: (u: DrainUser) => number) => users.reduce((n, u) => n + f(u), 0);
      // nginx's side: requests that met the draining gateway's 503 (or its closed port) and were passed to the other.
      const drainLog = entriesSince(from);
      const retried = drainLog.filter((e) => e.upstreams.length > 1);
      const failed = drainLog.filter((e) => e.status >= 500);
      const show = (list: AccessLogEntry[]) =>
        list
          .map((e) => {
            const transport = /transport=(\w+)/.exec(e.uri)?.[1] ?? '';
            return `${e.method} ${e.uri.replace(/\?.*/, '')} ${transport} ${e.upstreamStatuses.join('→')}`;
          })
          .join('; ');
      console.log(
        `drain through nginx: sent=${sent} acknowledged=${acked.length} stored=${rows.length} lost=${lost} ` +
          `duplicated=${duplicated} unacknowledged=${unacked} retries=${sum((u) => u.retries)} ` +
          `errors=${sum((u) => u.errors)} reconnects=${sum((u) => u.reconnects)}\n` +
          `  nginx passed ${retried.length} request(s) on to the other gateway: ${show(retried)}\n` +
          `  nginx answered ${failed.length} request(s) with 5xx: ${show(failed)}`,
      );
      expect({
        lost: [...lostAcked, ...undelivered().map((r) => r.client_message_id)],
        duplicated: { storedTwice, liveTwice, wrongId },
        unacked,
      }).toEqual({
        lost: [],
        duplicated: { storedTwice: [], liveTwice: 0, wrongId: [] },
        unacked: 0,
      });
      expect(acked.length).toBe(sent);
      expect(rows).toHaveLength(sent);
      expect(sent).toBeGreaterThan(100);
      // The drained gateway's clients (and only they) reconnected; each came back over its own transports.
      expect(users.filter((u) => u.reconnects > 0).map((u) => u.gateway)).toEqual(Array(pairs).fill(1));
      const upgraded = (u: DrainUser) =>
        transportOf(u.socket) === (u.kind === 'polling' ? 'polling' : 'websocket');
      await waitFor('the reconnected clients upgraded', () => users.every(upgraded)).catch(() => undefined);
      expect(users.filter((u) => !upgraded(u)).map((u) => `${u.kind}: ${transportOf(u.socket)}`)).toEqual([]);
      // nginx's proxy_next_upstream: the draining gateway's 503 to a GET (a handshake, a poll, an upgrade), or its
      // closed port, is passed on to the other gateway, which counts it as failed (max_fails) for a while. Whether
      // any request meets the draining gateway at all is a matter of timing (a run here had none: every reconnect
      // came after nginx had marked it failed), so only what was passed on is checked, and that no client saw a
      // 5xx of it.
      expect(retried.every((e) => e.upstreamStatuses[0] === '503' || e.upstreamStatuses[0] === '502')).toBe(
        true,
      );
      expect(failed.filter((e) => e.upstreams.length > 1)).toEqual([]);
    } finally {
      for (const u of users) u.close();
    }
  });
});

/**
 * A user of the drain test: sends at a steady rate with a fresh client_message_id per message, retries what was
 * not acknowledged with the same id, and after a reconnect (socket.io-client's own, through nginx) re-joins with
 * since_seq, as docs/protocol.md tells clients to (test/support/chat-load.ts does the same with direct gateways).
 */
class DrainUser {
  socket!: ChatClient;
  created = 0;
  retries = 0;
  errors = 0;
  reconnects = 0;
  liveDuplicates = 0;
  readonly acked = new Map<string, number>();
  readonly unacked = new Set<string>();
  readonly seen = new Set<number>();
  private readonly attempted = new Set<string>();
  private readonly inFlight = new Set<string>();
  private connectionSeen = new Set<number>();
  private contiguousSeq = 0;
  private readonly seqsAhead = new Set<number>();
  private running = false;
  private loop?: Promise<void>;

  constructor(
    readonly auth: AuthResult,
    readonly conversationId: number,
    readonly kind: Kind,
    readonly gateway: number,
    readonly address: string,
    readonly index: number,
  ) {}

  async connect(): Promise<void> {
    this.socket = openThroughNginx(this.auth, this.kind, this.address, true);
    this.socket.io.reconnectionDelay(200);
    this.socket.io.reconnectionDelayMax(1000);
    this.socket.on('receive-message', (m) => {
      if (this.connectionSeen.has(m.id)) this.liveDuplicates++;
      this.connectionSeen.add(m.id);
      this.seen.add(m.id);
      this.saw(m.seq);
    });
    this.socket.on('recent-messages', (e: RecentMessagesEvent) => {
      for (const m of e.messages) {
        this.seen.add(m.id);
        this.saw(m.seq);
      }
    });
    let first = true;
    this.socket.on('connect', () => {
      if (!first) this.reconnects++;
      first = false;
      this.connectionSeen = new Set();
      void this.join();
    });
    // Not `connected()`: its connect_error handler would close the socket at the first failed reconnection.
    await waitFor(`${this.kind} client ${this.index} to connect`, () => this.socket.connected);
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      await sleep(Math.random() * 125);
      while (this.running) {
        const cmid = `drain-${this.index}-${this.created++}`;
        this.unacked.add(cmid);
        void this.trySend(cmid);
        const retry = [...this.unacked].find((k) => k !== cmid && !this.inFlight.has(k));
        if (retry) void this.trySend(retry);
        await sleep(125);
      }
    })();
  }

  stop(): void {
    this.running = false;
  }

  /** Retries everything unacknowledged until it is acknowledged (or 60 s pass). */
  async flush(): Promise<void> {
    await this.loop;
    const deadline = Date.now() + 60_000;
    while (this.unacked.size && Date.now() < deadline) {
      await Promise.all([...this.unacked].map((cmid) => this.trySend(cmid)));
      if (this.unacked.size) await sleep(200);
    }
  }

  async join(): Promise<void> {
    if (!this.socket.connected) return;
    await join(this.socket, this.auth, this.conversationId, this.contiguousSeq).catch(() => undefined);
  }

  close(): void {
    this.running = false;
    this.socket?.close();
  }

  private async trySend(cmid: string): Promise<void> {
    if (this.inFlight.has(cmid) || !this.socket.connected) return;
    if (this.attempted.has(cmid)) this.retries++;
    this.attempted.add(cmid);
    this.inFlight.add(cmid);
    try {
      const ack = await send(
        this.socket,
        this.auth,
        this.conversationId,
        `drain message ${cmid}`,
        cmid,
        5000,
      );
      if (ack.success && ack.message) {
        this.unacked.delete(cmid);
        this.acked.set(cmid, ack.message.id);
        this.saw(ack.message.seq);
      } else {
        this.errors++;
      }
    } catch {
      this.errors++; // no ack in time, or the connection went away: retried with the same id
    } finally {
      this.inFlight.delete(cmid);
    }
  }

  /** Every seq up to `contiguousSeq` has been seen: the since_seq of a re-join, so nothing missed is skipped. */
  private saw(seq: number): void {
    if (seq <= this.contiguousSeq) return;
    this.seqsAhead.add(seq);
    while (this.seqsAhead.delete(this.contiguousSeq + 1)) this.contiguousSeq++;
  }
}
