import type { AuthResult, Conversation, Message, RecentMessagesEvent } from '@parley/contracts';
import { sleep } from '../../tools/lib/wait.js';
import { api, registerUser } from './api.js';
import { connected, openSocket, request, type ChatClient } from './socket.js';
import type { TestDatabase } from './postgres.js';

/**
 * Chat traffic as real clients make it, for fault tests: users in pairs, each pair a conversation, spread over the
 * gateways so senders and receivers sit on different instances. Each user sends at a steady rate with a fresh
 * client_message_id per message and, when a send fails (error, timeout, lost connection), retries it with the same
 * id. When its connection drops, a user reconnects to the next gateway that answers and re-joins its conversation
 * with since_seq, as docs/protocol.md tells clients to. Everything is counted, so a test can say what was sent,
 * acknowledged, stored and delivered, and what was lost or duplicated.
 */
export class ChatLoad {
  readonly users: LoadUser[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  private constructor(
    private readonly gateways: () => string[],
    private readonly opts: { ratePerUser: number; ackTimeoutMs: number; aligned: boolean },
  ) {}

  static async create(
    gateways: () => string[],
    pairs: number,
    /** `aligned`: every user sends at the same instants (bursts: the gateways then batch their sends). */
    opts: { ratePerUser?: number; ackTimeoutMs?: number; aligned?: boolean } = {},
  ): Promise<ChatLoad> {
    const load = new ChatLoad(gateways, {
      ratePerUser: opts.ratePerUser ?? 10,
      ackTimeoutMs: opts.ackTimeoutMs ?? 5000,
      aligned: opts.aligned ?? false,
    });
    const urls = gateways();
    for (let i = 0; i < pairs; i++) {
      const [a, b] = await Promise.all([registerUser(urls[0]!, 'la'), registerUser(urls[0]!, 'lb')]);
      const conv = await api<Conversation>(urls[0]!, 'POST', '/api/chats/conversations', {
        token: a.tokens.access,
        body: { receiver_id: b.user.id },
      });
      load.users.push(new LoadUser(a, conv.body.id, 2 * i), new LoadUser(b, conv.body.id, 2 * i + 1));
    }
    await Promise.all(load.users.map((u) => load.connect(u)));
    return load;
  }

  /** Starts sending; returns at once. */
  start(): void {
    this.running = true;
    this.loops = this.users.map((u) => this.sendLoop(u));
  }

  /** Stops making new messages, then retries everything unacknowledged until acknowledged (or `deadlineMs`). */
  async stop(deadlineMs = 60_000): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    const deadline = Date.now() + deadlineMs;
    await Promise.all(
      this.users.map(async (u) => {
        for (const cmid of [...u.unacked.keys()]) {
          while (u.unacked.has(cmid) && Date.now() < deadline) {
            await this.trySend(u, cmid);
            if (u.unacked.has(cmid)) await sleep(200);
          }
        }
      }),
    );
  }

  /** Every user re-joins with since_seq (what a client does after a reconnect) so catch-up can complete. */
  async sync(): Promise<void> {
    await Promise.all(this.users.map((u) => this.join(u)));
  }

  /** From now on, count live deliveries separately (see `liveAfterMark`). */
  markLive(): void {
    for (const u of this.users) {
      u.marked = true;
      u.liveAfterMark = 0;
    }
  }

  /** The other participant of a user's conversation. */
  partnerOf(u: LoadUser): LoadUser {
    return this.users[u.index % 2 === 0 ? u.index + 1 : u.index - 1]!;
  }

  close(): void {
    for (const u of this.users) {
      u.closing = true;
      u.socket?.close();
    }
  }

  /**
   * The counts of the run, checked against what Postgres holds. `lost`: acknowledged but not stored, or stored
   * but never delivered to the other participant; `duplicated`: stored twice, or delivered live twice to one
   * connection.
   */
  async report(db: TestDatabase): Promise<LoadReport> {
    const rows = await db.sql<{
      id: number;
      sender_id: number;
      client_message_id: string;
      conversation_id: number;
    }>(
      `SELECT id, sender_id, client_message_id, conversation_id FROM messages WHERE client_message_id LIKE 'load-%'`,
    );
    const storedBy = new Map<string, number[]>();
    for (const r of rows)
      storedBy.set(r.client_message_id, [...(storedBy.get(r.client_message_id) ?? []), r.id]);
    const sent = this.users.reduce((n, u) => n + u.created, 0);
    const acked = this.users.flatMap((u) => [...u.acked.entries()]);
    const lostAcked = acked.filter(([cmid]) => !storedBy.has(cmid)).map(([cmid]) => cmid);
    const wrongId = acked.filter(([cmid, id]) => storedBy.get(cmid)?.[0] !== id).length;
    const duplicatedStored = [...storedBy.values()].filter((ids) => ids.length > 1).length;
    let delivered = 0;
    let lostDelivery = 0;
    for (const u of this.users) {
      const expected = rows.filter(
        (r) => r.conversation_id === u.conversationId && r.sender_id !== u.auth.user.id,
      );
      delivered += expected.filter((r) => u.seen.has(r.id)).length;
      lostDelivery += expected.filter((r) => !u.seen.has(r.id)).length;
    }
    const duplicatedLive = this.users.reduce((n, u) => n + u.liveDuplicates, 0);
    return {
      sent,
      acknowledged: acked.length,
      stored: rows.length,
      delivered,
      lost: lostAcked.length + lostDelivery,
      duplicated: duplicatedStored + duplicatedLive + wrongId,
      unacknowledged: this.users.reduce((n, u) => n + u.unacked.size, 0),
      retries: this.users.reduce((n, u) => n + u.retries, 0),
      errors: this.users.reduce((n, u) => n + u.errors, 0),
      reconnects: this.users.reduce((n, u) => n + u.reconnects, 0),
      detail: { lostAcked, lostDelivery, duplicatedStored, duplicatedLive, wrongId },
    };
  }

  private async sendLoop(u: LoadUser): Promise<void> {
    const interval = 1000 / this.opts.ratePerUser;
    // Aligned: every user's next send is due at the same multiple of the interval.
    const pause = () =>
      this.opts.aligned ? Math.ceil(Date.now() / interval) * interval - Date.now() : Math.random() * interval;
    await sleep(pause());
    while (this.running) {
      const started = Date.now();
      const cmid = `load-${u.index}-${u.created++}`;
      u.unacked.set(cmid, `load message ${cmid}`);
      void this.trySend(u, cmid);
      // Retries of earlier failures go out too, at most one per tick, oldest first.
      const retry = [...u.unacked.keys()].find((k) => k !== cmid && !u.inFlight.has(k));
      if (retry) void this.trySend(u, retry);
      await sleep(this.opts.aligned ? pause() || interval : Math.max(0, interval - (Date.now() - started)));
    }
  }

  private async trySend(u: LoadUser, cmid: string): Promise<void> {
    if (u.inFlight.has(cmid)) return;
    const socket = u.socket;
    if (!socket?.connected) return;
    if (u.attempts.has(cmid)) u.retries++;
    u.attempts.add(cmid);
    u.inFlight.add(cmid);
    try {
      const ack = await request<{ success: boolean; message?: Message; error?: string }>(
        socket,
        'send-message',
        {
          sender_id: u.auth.user.id,
          conversation_id: u.conversationId,
          message_type: 'text',
          content: u.unacked.get(cmid) ?? cmid,
          client_message_id: cmid,
        },
        this.opts.ackTimeoutMs,
      );
      if (ack.success && ack.message) {
        u.unacked.delete(cmid);
        u.acked.set(cmid, ack.message.id);
        u.saw(ack.message.seq);
      } else {
        u.errors++;
        u.lastError = ack.error;
      }
    } catch {
      u.errors++; // no ack in time, or the connection went away: retried with the same id
    } finally {
      u.inFlight.delete(cmid);
    }
  }

  private async connect(u: LoadUser): Promise<void> {
    for (let attempt = 0; !u.closing; attempt++) {
      // As a load balancer would: only gateways whose readiness check passes (a draining one fails it).
      const urls = await readyOnly(this.gateways());
      if (urls.length === 0) {
        await sleep(200);
        continue;
      }
      const url = urls[(u.index + u.reconnects + attempt) % urls.length]!;
      const socket = openSocket(url, { token: u.auth.tokens.access });
      socket.on('receive-message', (m: Message) => {
        if (u.connectionSeen.has(m.id)) u.liveDuplicates++;
        if (u.marked) u.liveAfterMark++;
        u.connectionSeen.add(m.id);
        u.seen.add(m.id);
        u.saw(m.seq);
      });
      socket.on('user:online', ({ userId }) => u.presence.set(userId, 'online'));
      socket.on('user:offline', ({ userId }) => u.presence.set(userId, 'offline'));
      socket.on('recent-messages', (e: RecentMessagesEvent) => {
        for (const m of e.messages) {
          u.seen.add(m.id);
          u.saw(m.seq);
        }
      });
      try {
        await connected(socket);
      } catch {
        socket.close();
        await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 4)));
        continue;
      }
      u.socket = socket;
      u.connectionSeen = new Set();
      socket.once('disconnect', () => {
        if (u.closing) return;
        u.reconnects++;
        void this.connect(u);
      });
      await this.join(u);
      return;
    }
  }

  private async join(u: LoadUser): Promise<void> {
    const socket = u.socket;
    if (!socket?.connected) return;
    await request(
      socket,
      'join-conversation',
      {
        conversationId: u.conversationId,
        userId: u.auth.user.id,
        since_seq: u.contiguousSeq,
      },
      10_000,
    ).catch(() => undefined);
  }
}

async function readyOnly(urls: string[]): Promise<string[]> {
  const ready = await Promise.all(
    urls.map((url) =>
      fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      ),
    ),
  );
  return urls.filter((_, i) => ready[i]);
}

export class LoadUser {
  socket?: ChatClient;
  closing = false;
  created = 0;
  retries = 0;
  errors = 0;
  reconnects = 0;
  liveDuplicates = 0;
  /** Every seq up to this one has been seen (live, in a catch-up, or as an ack of one's own message). */
  contiguousSeq = 0;
  private readonly seqsAhead = new Set<number>();
  lastError?: string;
  readonly unacked = new Map<string, string>();
  readonly acked = new Map<string, number>();
  readonly attempts = new Set<string>();
  readonly inFlight = new Set<string>();
  /** Message ids this user has received (live or in a catch-up), from the other participant. */
  readonly seen = new Set<number>();
  connectionSeen = new Set<number>();
  /** The last presence event this user got about each contact. */
  readonly presence = new Map<number, 'online' | 'offline'>();
  /** Live receive-message events after `markLive()`, to show live delivery works after a fault. */
  liveAfterMark = 0;
  marked = false;

  constructor(
    readonly auth: AuthResult,
    readonly conversationId: number,
    readonly index: number,
  ) {}

  /**
   * Records a seq. A client re-joins with since_seq = the last seq below which it has seen everything (not the
   * highest it has seen), so a message that never arrived live is caught up, not skipped.
   */
  saw(seq: number): void {
    if (seq <= this.contiguousSeq) return;
    this.seqsAhead.add(seq);
    while (this.seqsAhead.delete(this.contiguousSeq + 1)) this.contiguousSeq++;
  }
}

export interface LoadReport {
  sent: number;
  acknowledged: number;
  stored: number;
  delivered: number;
  lost: number;
  duplicated: number;
  unacknowledged: number;
  retries: number;
  errors: number;
  reconnects: number;
  detail: Record<string, unknown>;
}

/** One line for a test's output. */
export function describeReport(name: string, r: LoadReport): string {
  return (
    `${name}: sent=${r.sent} acknowledged=${r.acknowledged} stored=${r.stored} delivered=${r.delivered} ` +
    `lost=${r.lost} duplicated=${r.duplicated} unacknowledged=${r.unacknowledged} retries=${r.retries} ` +
    `errors=${r.errors} reconnects=${r.reconnects}`
  );
}
