// The group scenario's side of a load worker: sends to groups, each message from a member picked at random, and
// accounts for every measured message at every member socket. Every member of a group sits in the same worker
// (bench/lib.ts, connectUsers), so the worker that sends a message also holds all of its receivers and can tell a
// missing or a duplicated receipt from one still on its way. Open loop, as the 1:1 load (bench/load-worker.ts):
// latencies count from each message's scheduled send time.
import { performance } from 'node:perf_hooks';
import type { Socket } from 'socket.io-client';
import { ClientEvent, type Conversation, type Message, type SendMessageAck } from '@parley/contracts/wire';
import type { BenchUser, GroupWorkerResult, ToWorker } from './protocol.js';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** After the last expected receipt: time for the `conversation-updated` frames that follow it. */
const UPDATES_SETTLE_MS = 200;

/** What the group run needs of a load worker's client. */
export interface GroupClient {
  user: BenchUser;
  socket: Socket;
  n: number;
}

/** One measured message. */
interface Tracked {
  senderId: number;
  n: number;
  /** When it was due (its scheduled send time). */
  sentAt: number;
  /** The other members' sockets (all joined before the run): each should receive it once. */
  receivers: number;
  got: number;
  acked: boolean;
  views: Set<string>;
}

export class GroupRun {
  private readonly tracked = new Map<string, Tracked>();
  private readonly seen = new Map<GroupClient, Set<string>>();
  private readonly lastFrom = new Map<GroupClient, Map<number, number>>();
  /** Receipts still expected of the measured messages acked so far. */
  private outstanding = 0;
  private readonly deliveredAt: number[] = [];
  private readonly e2e: number[] = [];
  private readonly ack: number[] = [];
  private readonly late: number[] = [];
  private readonly r: Omit<GroupWorkerResult, 'deliveredAt' | 'e2e' | 'ack' | 'late'> = {
    sent: 0,
    acked: 0,
    failedAcks: 0,
    expected: 0,
    delivered: 0,
    missing: 0,
    duplicated: 0,
    toSender: 0,
    wrongConversation: 0,
    deliveredUnacked: 0,
    outOfOrder: 0,
    updates: 0,
    views: 0,
  };

  constructor(private readonly tag: string) {}

  /** The measured message a content names (`<tag>|m|<senderId>|<n>|…`); warm-up, other runs and system: none. */
  private find(message: Message | null | undefined): Tracked | undefined {
    if (!message || message.message_type !== 'text') return undefined; // seq 1 is the 'created' system message
    const [tag, phase, sender, n] = message.content.split('|');
    return tag === this.tag && phase === 'm' ? this.tracked.get(`${sender}:${n}`) : undefined;
  }

  onReceive(c: GroupClient, message: Message): void {
    const t = this.find(message);
    if (!t) return;
    if (message.conversation_id !== c.user.conversationId) {
      this.r.wrongConversation++;
      return;
    }
    if (t.senderId === c.user.id) {
      this.r.toSender++;
      return;
    }
    const key = `${t.senderId}:${t.n}`;
    let seen = this.seen.get(c);
    if (!seen) this.seen.set(c, (seen = new Set()));
    if (seen.has(key)) {
      this.r.duplicated++;
      return;
    }
    seen.add(key);
    const at = now();
    this.deliveredAt.push(at);
    this.e2e.push(at - t.sentAt);
    t.got++;
    if (t.acked) this.outstanding--;
    let last = this.lastFrom.get(c);
    if (!last) this.lastFrom.set(c, (last = new Map()));
    if (t.n < (last.get(t.senderId) ?? -1)) this.r.outOfOrder++;
    else last.set(t.senderId, t.n);
  }

  onUpdate(payload: { conversation: Conversation }): void {
    const c = payload.conversation;
    const t = this.find(c.last_message);
    if (!t) return;
    this.r.updates++;
    t.views.add(`${c.unread_count}|${c.my_role}|${c.muted}|${c.muted_until}`);
  }

  async run(
    clients: GroupClient[],
    m: Extract<ToWorker, { type: 'run-groups' }>,
  ): Promise<GroupWorkerResult> {
    const groups = new Map<number, GroupClient[]>();
    for (const c of clients) {
      if (!m.conversations.includes(c.user.conversationId)) continue;
      let members = groups.get(c.user.conversationId);
      if (!members) groups.set(c.user.conversationId, (members = []));
      members.push(c);
    }
    const convs = [...groups.values()];
    const interval = 1000 / m.ratePerConversation;
    const start = m.startAt;
    const warmEnd = start + m.warmupMs;
    const end = warmEnd + m.durationMs;
    // Each group has its own schedule, offset so that sends spread evenly over the interval.
    const next = convs.map((_, i) => start + (interval * i) / convs.length);
    const pending: Promise<void>[] = [];
    await sleep(start - now());
    // The last pass runs at `end`, so that a loop woken late still makes every send due before it.
    for (;;) {
      const t = Math.min(now(), end);
      let due = Infinity;
      for (let i = 0; i < convs.length; i++) {
        while (next[i]! <= t && next[i]! < end) {
          const members = convs[i]!;
          const sender = members[Math.floor(Math.random() * members.length)]!;
          const measured = next[i]! >= warmEnd;
          if (measured) this.late.push(now() - next[i]!);
          pending.push(this.emit(sender, members, next[i]!, measured ? 'm' : 'w'));
          next[i]! += interval;
        }
        due = Math.min(due, next[i]!);
      }
      if (t >= end) break;
      await sleep(Math.min(due, end) - now());
    }
    await Promise.race([Promise.all(pending), sleep(m.drainMs)]);
    const drainEnd = now() + m.drainMs;
    while (now() < drainEnd && this.outstanding > 0) await sleep(20);
    await sleep(UPDATES_SETTLE_MS);
    return this.tally();
  }

  private async emit(
    c: GroupClient,
    members: GroupClient[],
    sentAt: number,
    phase: 'm' | 'w',
  ): Promise<void> {
    const n = c.n++;
    const content = `${this.tag}|${phase}|${c.user.id}|${n}|${sentAt.toFixed(3)}|${'x'.repeat(40)}`;
    let t: Tracked | undefined;
    if (phase === 'm') {
      this.r.sent++;
      // Every other member, joined or not now: a socket that dropped out of the room shows as missing receipts.
      const receivers = members.length - 1;
      t = { senderId: c.user.id, n, sentAt, receivers, got: 0, acked: false, views: new Set() };
      this.tracked.set(`${c.user.id}:${n}`, t);
    }
    try {
      const ack = (await c.socket.timeout(10_000).emitWithAck(ClientEvent.SendMessage, {
        sender_id: c.user.id,
        conversation_id: c.user.conversationId,
        message_type: 'text',
        content,
        client_message_id: `${this.tag}-${c.user.id}-${n}`,
      })) as SendMessageAck;
      if (!t) return;
      if (!ack.success) {
        this.r.failedAcks++;
        return;
      }
      this.r.acked++;
      this.ack.push(now() - sentAt);
      t.acked = true;
      // Receipts may come before the ack (the receivers' gateway can be quicker than the sender's reply).
      this.outstanding += t.receivers - t.got;
    } catch {
      if (t) this.r.failedAcks++;
    }
  }

  private tally(): GroupWorkerResult {
    for (const t of this.tracked.values()) {
      if (!t.acked) {
        this.r.deliveredUnacked += t.got;
        continue;
      }
      this.r.expected += t.receivers;
      this.r.delivered += t.got;
      this.r.missing += Math.max(0, t.receivers - t.got);
      this.r.views += t.views.size;
    }
    const f64 = (a: number[]) => Float64Array.from(a);
    return {
      ...this.r,
      deliveredAt: f64(this.deliveredAt),
      e2e: f64(this.e2e),
      ack: f64(this.ack),
      late: f64(this.late),
    };
  }
}
