import type { AuthResult, Conversation, Message } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, Cluster, registerUser, sleep } from '@parley/testing';

// Horizontal scale, proven: 2 gateways and 3 chats services as real processes on the machine's Postgres and Redis.
let cluster: Cluster;
const pairs: { a: AuthResult; b: AuthResult; conversation: Conversation }[] = [];

beforeAll(async () => {
  // Rate limits are tested in rate-limits.e2e-spec.ts; here they would only make the outcome depend on speed.
  cluster = await Cluster.start({
    gateways: 2,
    chats: 3,
    gatewayEnv: { RATE_LIMIT_MESSAGES_PER_SECOND: '100000', RATE_LIMIT_MESSAGES_BURST: '100000' },
  });
  for (let i = 0; i < 10; i++) {
    const [a, b] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 'sa'),
      registerUser(cluster.gatewayUrl(1), 'sb'),
    ]);
    const res = await api<Conversation>(cluster.gatewayUrl(i), 'POST', '/api/chats/conversations', {
      token: a.tokens.access,
      body: { receiver_id: b.user.id },
    });
    pairs.push({ a, b, conversation: res.body });
  }
});
afterAll(async () => {
  await cluster?.stop();
});

interface Send {
  pair: (typeof pairs)[number];
  sender: AuthResult;
  clientMessageId: string;
  content: string;
}

function plan(count: number, tag: string): Send[] {
  return Array.from({ length: count }, (_, i) => {
    const pair = pairs[i % pairs.length]!;
    const sender = i % 3 === 0 ? pair.b : pair.a;
    return { pair, sender, clientMessageId: `${tag}-${i}`, content: `${tag} message ${i}` };
  });
}

function post(send: Send, gateway: number) {
  return api<Message>(
    cluster.gatewayUrl(gateway),
    'POST',
    `/api/chats/conversations/${send.pair.conversation.id}/messages`,
    {
      token: send.sender.tokens.access,
      body: { message_type: 'text', content: send.content, client_message_id: send.clientMessageId },
    },
  );
}

async function handledSends(): Promise<number[]> {
  return Promise.all(
    cluster.chats
      .filter((c) => c.alive)
      // Alone (messages.send) or in a gateway's batch (messages.send-batch).
      .map((c) => c.metric('parley_sends_handled_total')),
  );
}

/** Every conversation's seqs are exactly 1..n, once each. */
async function expectGaplessSeqs(): Promise<number> {
  const rows = await cluster.db.sql<{ conversation_id: number; seqs: number[] }>(
    'SELECT conversation_id, array_agg(seq ORDER BY seq) AS seqs FROM messages GROUP BY conversation_id',
  );
  let total = 0;
  for (const row of rows) {
    const seqs = row.seqs.map(Number);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    total += seqs.length;
  }
  return total;
}

describe('scale-out over Redis Streams', () => {
  it('stores 1,000 concurrent REST sends into 10 conversations exactly once, with gapless seqs, spread over 3 chats instances', async () => {
    const sends = plan(1000, 'burst');
    const results = await Promise.all(sends.map((send, i) => post(send, i % 2)));
    expect(results.filter((r) => r.status !== 201).map((r) => [r.status, r.body])).toEqual([]);

    const [{ n }] = (await cluster.db.sql<{ n: number }>('SELECT count(*)::int AS n FROM messages')) as [
      { n: number },
    ];
    expect(n).toBe(1000);
    expect(await expectGaplessSeqs()).toBe(1000);
    const perConversation = await cluster.db.sql<{ c: number }>(
      'SELECT count(*)::int AS c FROM messages GROUP BY conversation_id',
    );
    expect(perConversation.map((r) => r.c)).toEqual(Array(10).fill(100));
    // Every acknowledged message is the one stored under its key.
    const stored = new Map(
      (
        await cluster.db.sql<{ client_message_id: string; id: number; content: string }>(
          'SELECT client_message_id, id, content FROM messages',
        )
      ).map((r) => [r.client_message_id, r]),
    );
    results.forEach((r, i) =>
      expect(stored.get(sends[i]!.clientMessageId)).toMatchObject({
        id: r.body.id,
        content: sends[i]!.content,
      }),
    );

    const handled = await handledSends();
    console.log('sends handled per chats instance:', handled);
    expect(handled.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(handled.every((count) => count > 0)).toBe(true);
  });

  it('loses and duplicates nothing when a chats instance is killed with SIGKILL mid-run; retries with the same client_message_id are safe', async () => {
    const before = await expectGaplessSeqs();
    const sends = plan(1000, 'kill');
    const acked = new Map<string, Message>();
    const statuses: Record<string, number> = {};
    let retries = 0;
    let next = 0;
    let killed = false;

    const worker = async (w: number) => {
      while (next < sends.length) {
        const send = sends[next++]!;
        for (let attempt = 0; ; attempt++) {
          const res = await post(send, (w + attempt) % 2).catch(() => ({
            status: 0,
            body: undefined as unknown as Message,
          }));
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status === 200 || res.status === 201) {
            acked.set(send.clientMessageId, res.body);
            break;
          }
          if (attempt === 8)
            throw new Error(`gave up on ${send.clientMessageId}: ${res.status} ${JSON.stringify(res.body)}`);
          retries++;
          await sleep(200 * (attempt + 1));
        }
        if (!killed && acked.size >= 300) {
          killed = true;
          await cluster.chats[0]!.stop('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 60 }, (_, w) => worker(w)));

    expect(killed).toBe(true);
    expect(acked.size).toBe(1000);
    const rows = await cluster.db.sql<{ client_message_id: string; id: number; n: number }>(
      `SELECT client_message_id, min(id)::int AS id, count(*)::int AS n FROM messages WHERE client_message_id LIKE 'kill-%' GROUP BY client_message_id`,
    );
    const duplicated = rows.filter((r) => r.n !== 1);
    const lost = [...acked.keys()].filter((k) => !rows.some((r) => r.client_message_id === k));
    const mismatched = rows.filter((r) => acked.get(r.client_message_id)?.id !== r.id);
    const claimed = await Promise.all(
      cluster.chats.filter((c) => c.alive).map((c) => c.metric('parley_rpc_claimed_total')),
    );
    console.log(
      `kill -9 run: sent=${sends.length} acked=${acked.size} stored=${rows.length} lost=${lost.length} duplicated=${duplicated.length}` +
        ` retries=${retries} statuses=${JSON.stringify(statuses)} claimed-by-survivors=${claimed.join('+')}`,
    );
    expect({ lost, duplicated, mismatched }).toEqual({ lost: [], duplicated: [], mismatched: [] });
    expect(rows).toHaveLength(1000);
    expect(await expectGaplessSeqs()).toBe(before + 1000);

    // A client that never saw its ack retries: it gets the stored message back (200) and nothing new is stored.
    const again = await Promise.all(sends.slice(0, 50).map((send, i) => post(send, i % 2)));
    expect(again.map((r) => r.status)).toEqual(Array(50).fill(200));
    again.forEach((r, i) => expect(r.body.id).toBe(acked.get(sends[i]!.clientMessageId)!.id));
    expect(await expectGaplessSeqs()).toBe(before + 1000);
  });
});
