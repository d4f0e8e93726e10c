import type { AuthResult, Conversation } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, Cluster, connect, registerUser, sleep, waitFor, type ChatClient } from '@parley/testing';

// Finding: "under 15× overload the chats services spend their slots on requests whose callers have already timed
// out, so nothing is acknowledged for a while". A cluster whose capacity is set by its database (2 connections, an
// insert that takes 40 ms: a slow disk, a busy primary) is measured, then offered 10× that for 20 s by REST and
// Socket.IO clients that each wait 5 s for an answer (the SDK's ack timeout). Admission control (per-socket and
// per-gateway caps, the chats service's queue limits) must keep it acknowledging at its capacity, and nothing
// acknowledged may be lost. The defaults are the production ones; only the database is slowed down.

const ACK_TIMEOUT_MS = 5000;
const OVERLOAD_SECONDS = 20;
const INSERT_MS = 40;

let cluster: Cluster;
let gw: [string, string];
const sockets: ChatClient[] = [];

interface Sender {
  user: AuthResult;
  conversationId: number;
  socket?: ChatClient;
}

type Outcome = 'acked' | 'busy' | 'limited' | 'timeout' | 'error';

interface Attempt {
  sender: Sender;
  cmid: string;
  via: 'rest' | 'socket';
  outcome?: Outcome;
  /** ms since the phase started, when the answer came. */
  answeredAt?: number;
  messageId?: number;
}

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 1,
    chatsEnv: { DB_POOL_SIZE: '2', MESSAGE_BATCH_MAX: '1' },
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
});

async function senders(count: number, prefix: string, withSocket: boolean): Promise<Sender[]> {
  const out: Sender[] = [];
  for (let i = 0; i < count; i++) {
    const [a, b] = await Promise.all([
      registerUser(gw[i % 2]!, `${prefix}${i}a`),
      registerUser(gw[i % 2]!, `${prefix}${i}b`),
    ]);
    const conversation = await api<Conversation>(gw[0], 'POST', '/api/chats/conversations', {
      token: a.tokens.access,
      body: { receiver_id: b.user.id },
    });
    const sender: Sender = { user: a, conversationId: conversation.body.id };
    if (withSocket) {
      sender.socket = await connect(gw[(i + 1) % 2]!, { token: a.tokens.access });
      sockets.push(sender.socket);
    }
    out.push(sender);
  }
  return out;
}

/** One send, answered (or given up on) within ACK_TIMEOUT_MS, as a client with the SDK's ack timeout would. */
async function send(attempt: Attempt, url: string, t0: number): Promise<void> {
  const { sender, cmid } = attempt;
  const body = { message_type: 'text', content: `load ${cmid}`, client_message_id: cmid };
  const finish = (outcome: Outcome, messageId?: number) => {
    attempt.outcome = outcome;
    attempt.answeredAt = Date.now() - t0;
    attempt.messageId = messageId;
  };
  try {
    if (attempt.via === 'socket') {
      const ack = (await sender.socket!.timeout(ACK_TIMEOUT_MS).emitWithAck('send-message', {
        sender_id: sender.user.user.id,
        conversation_id: sender.conversationId,
        ...body,
      })) as {
        success: boolean;
        error?: string;
        message?: { id: number };
      };
      if (ack.success) return finish('acked', ack.message!.id);
      return finish(
        ack.error === 'Rate limit exceeded'
          ? 'limited'
          : ack.error === 'Service busy, retry later'
            ? 'busy'
            : 'error',
      );
    }
    const res = await fetch(`${url}/api/chats/conversations/${sender.conversationId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sender.user.tokens.access}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(ACK_TIMEOUT_MS),
    });
    const json = (await res.json()) as { id?: number };
    if (res.status === 201 || res.status === 200) return finish('acked', json.id);
    finish(res.status === 503 ? 'busy' : res.status === 429 ? 'limited' : 'error');
  } catch {
    finish('timeout');
  }
}

/** A page of history over REST, answered (or given up on) within ACK_TIMEOUT_MS. */
async function read(sender: Sender, url: string): Promise<Outcome> {
  try {
    const res = await fetch(`${url}/api/chats/conversations/${sender.conversationId}/messages?limit=20`, {
      headers: { authorization: `Bearer ${sender.user.tokens.access}` },
      signal: AbortSignal.timeout(ACK_TIMEOUT_MS),
    });
    await res.arrayBuffer();
    return res.status === 200
      ? 'acked'
      : res.status === 503
        ? 'busy'
        : res.status === 429
          ? 'limited'
          : 'error';
  } catch {
    return 'timeout';
  }
}

/**
 * Sends `rate` messages a second for `seconds`, open loop (on schedule, whatever the answers), over the senders;
 * and, on top, a history read over REST for every tenth message.
 */
async function offer(
  rest: Sender[],
  socket: Sender[],
  rate: number,
  seconds: number,
  label: string,
): Promise<{ attempts: Attempt[]; reads: Outcome[]; t0: number }> {
  const attempts: Attempt[] = [];
  const reads: Outcome[] = [];
  const pending: Promise<void>[] = [];
  const all = [...rest.map((s) => [s, 'rest'] as const), ...socket.map((s) => [s, 'socket'] as const)];
  const t0 = Date.now();
  let sent = 0;
  while (Date.now() - t0 < seconds * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate);
    for (; sent < due; sent++) {
      const [sender, via] = all[sent % all.length]!;
      const attempt: Attempt = { sender, via, cmid: `${label}-${sent}` };
      attempts.push(attempt);
      pending.push(send(attempt, gw[sent % 2]!, t0));
      if (sent % 10 === 0) {
        const reader = rest[(sent / 10) % rest.length]!;
        pending.push(read(reader, gw[(sent / 10) % 2]!).then((o) => void reads.push(o)));
      }
    }
    await sleep(10);
  }
  await Promise.all(pending);
  return { attempts, reads, t0 };
}

describe('overload', () => {
  it(
    'keeps acknowledging at its capacity under 10× offered load, and loses nothing it acknowledged',
    { timeout: 300_000 },
    async () => {
      const restSenders = await senders(18, 'olr', false);
      const socketSenders = await senders(12, 'ols', true);
      await cluster.db.sql(`CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(${INSERT_MS / 1000}); RETURN NEW; END $$`);
      await cluster.db.sql(
        'CREATE TRIGGER slow_insert BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION slow_insert()',
      );

      // Capacity: closed loop, 18 senders each sending the next message when the last one is answered, 6 s.
      const capacityStart = Date.now();
      const measured: Attempt[] = [];
      await Promise.all(
        restSenders.map(async (sender, i) => {
          for (let n = 0; Date.now() - capacityStart < 6000; n++) {
            const attempt: Attempt = { sender, via: 'rest', cmid: `cap-${i}-${n}` };
            measured.push(attempt);
            await send(attempt, gw[n % 2]!, capacityStart);
          }
        }),
      );
      // Counted from the second second on (the first includes warming up).
      const inWindow = measured.filter(
        (a) => a.outcome === 'acked' && a.answeredAt! >= 1000 && a.answeredAt! < 6000,
      );
      const capacity = inWindow.length / 5;
      expect(capacity).toBeGreaterThan(10);

      // Overload: 10× capacity for 20 s, 60 % over REST and 40 % over Socket.IO, half on each gateway.
      const rate = Math.round(capacity * 10);
      const shedBefore = await cluster.chats[0]!.metric('parley_rpc_shed_total');
      const { attempts, reads } = await offer(restSenders, socketSenders, rate, OVERLOAD_SECONDS, 'ovl');
      const count = (o: Outcome) => attempts.filter((a) => a.outcome === o).length;
      const ackedDuring = attempts.filter(
        (a) => a.outcome === 'acked' && a.answeredAt! <= OVERLOAD_SECONDS * 1000,
      );
      const ackedRate = ackedDuring.length / OVERLOAD_SECONDS;
      // The slowest second, too: acknowledgements must not stop for a while.
      const perSecond = Array.from(
        { length: OVERLOAD_SECONDS },
        (_, s) =>
          ackedDuring.filter((a) => a.answeredAt! >= s * 1000 && a.answeredAt! < (s + 1) * 1000).length,
      );
      const shedByChats = (await cluster.chats[0]!.metric('parley_rpc_shed_total')) - shedBefore;

      // Counted now, before the retries below: what each client was told during the overload.
      const told = {
        busy: count('busy'),
        limited: count('limited'),
        timedOut: count('timeout'),
        errors: count('error'),
      };
      // Reads are shed before sends (their queue limit is a quarter of the sends'): over REST, where no
      // per-socket cap refuses first, a larger share of reads than of sends is answered `Service busy`.
      const restSends = attempts.filter((a) => a.via === 'rest');
      const share = (n: number, of: number) => Math.round((n / of) * 1000) / 1000;
      const busyShare = {
        reads: share(reads.filter((o) => o === 'busy').length, reads.length),
        restSends: share(restSends.filter((a) => a.outcome === 'busy').length, restSends.length),
      };
      // A client that got no answer in time does not know whether its message was stored: it retries with the
      // same client_message_id until it is acknowledged. (A refusal says it was not stored: checked below.)
      // It retries once the service has worked off the requests whose callers gave up (as the SDK's backoff
      // would): retried into that queue, each retry would time out too, and the deadline would pass on waiting.
      const unknown = attempts.filter((a) => a.outcome === 'timeout' || a.outcome === 'error');
      await waitFor(
        'the chats service to work off its backlog',
        async () => (await cluster.chats[0]!.metric('parley_rpc_stream_backlog')) === 0,
        120_000,
        250,
      );
      // A minute, and as long again as the service needs for them at its capacity (a noisy machine times out more).
      const retryDeadline = Date.now() + 60_000 + (unknown.length / capacity) * 2000;
      while (unknown.some((a) => a.outcome !== 'acked') && Date.now() < retryDeadline) {
        const batch = unknown.filter((a) => a.outcome !== 'acked').slice(0, 20);
        await Promise.all(
          batch.map(async (a, i) => {
            const again: Attempt = { ...a, via: 'rest', outcome: undefined };
            await send(again, gw[i % 2]!, Date.now());
            if (again.outcome === 'acked') Object.assign(a, { outcome: 'acked', messageId: again.messageId });
          }),
        );
        if (batch.every((a) => a.outcome !== 'acked')) await sleep(500);
      }

      const rows = await cluster.db.sql<{ id: number; sender_id: number; client_message_id: string }>(
        `SELECT id, sender_id, client_message_id FROM messages WHERE client_message_id LIKE 'ovl-%'`,
      );
      const stored = new Map<string, number[]>();
      for (const r of rows)
        stored.set(r.client_message_id, [...(stored.get(r.client_message_id) ?? []), r.id]);
      const acked = attempts.filter((a) => a.outcome === 'acked');
      const lost = acked.filter((a) => stored.get(a.cmid)?.[0] !== a.messageId);
      const duplicated = [...stored.values()].filter((ids) => ids.length > 1);
      const refused = attempts.filter((a) => a.outcome === 'busy' || a.outcome === 'limited');
      const storedThoughRefused = refused.filter((a) => stored.has(a.cmid));
      const sent = new Set(attempts.map((a) => a.cmid));
      const report = {
        capacityPerSecond: capacity,
        offeredPerSecond: rate,
        offered: attempts.length,
        ackedDuringOverload: ackedDuring.length,
        ackedPerSecond: ackedRate,
        ackedPerSecondSlowest: Math.min(...perSecond),
        refusedBusy: told.busy,
        shedByChatsService: shedByChats,
        rateLimited: told.limited,
        timedOut: told.timedOut,
        errors: told.errors,
        reads: reads.length,
        readsServed: reads.filter((o) => o === 'acked').length,
        busyShareOfReads: busyShare.reads,
        busyShareOfRestSends: busyShare.restSends,
        unknownStillUnacknowledgedAfterRetries: unknown.filter((a) => a.outcome !== 'acked').length,
        stored: rows.length,
        storedThoughRefused: storedThoughRefused.length,
        lost: lost.length,
        duplicated: duplicated.length,
      };
      console.log(`overload: ${JSON.stringify(report)}\nacknowledged per second: ${perSecond.join(' ')}`);

      expect(ackedRate).toBeGreaterThan(capacity / 2);
      expect(busyShare.reads).toBeGreaterThan(busyShare.restSends);
      expect(lost).toEqual([]);
      expect(duplicated).toEqual([]);
      expect(storedThoughRefused).toEqual([]); // shed before any work: a refusal stored nothing
      expect(report.errors).toBe(0);
      expect(report.unknownStillUnacknowledgedAfterRetries).toBe(0);
      expect(rows.every((r) => sent.has(r.client_message_id))).toBe(true);
      expect(rows.length).toBe(acked.length);
    },
  );
});
