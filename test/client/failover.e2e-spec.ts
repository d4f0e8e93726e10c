import type { AuthResult, Message } from '@parley/contracts/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, registerUser, sleep, waitFor } from '@parley/testing';
// Relative until tsconfig.json maps @parley/client.
import { ParleyClient, ParleyRest, type StateChange } from '../../libs/client/src/index.js';

// A gateway killed (SIGKILL) under a client that is sending and receiving: with both gateways' URLs, the client
// fails over to the other, re-joins with since_seq, re-sends what was not acknowledged (same client_message_id),
// and both users end with every message exactly once, in seq order.
let cluster: Cluster;
const clients: ParleyClient[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 1,
    gatewayEnv: { RATE_LIMIT_MESSAGES_PER_SECOND: '100000', RATE_LIMIT_MESSAGES_BURST: '100000' },
  });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
});

function open(user: AuthResult, urls: string[], gapTimeoutMs: number): ParleyClient {
  const client = new ParleyClient({
    urls,
    getToken: () => user.tokens.access,
    reconnect: { initialDelayMs: 200, maxDelayMs: 1_000 },
    ackTimeoutMs: 2_000,
    maxSendAttempts: 10,
    gapTimeoutMs,
  });
  clients.push(client);
  return client;
}

function record(client: ParleyClient): Message[] {
  const messages: Message[] = [];
  client.on('message', (m) => messages.push(m));
  return messages;
}

describe('gateway failover under the SDK', () => {
  it('survives a SIGKILL of its gateway mid-conversation: every message once, in seq order, nothing duplicated', async () => {
    const [g0, g1] = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
    const [alice, bob] = await Promise.all([registerUser(g0, 'foA'), registerUser(g1, 'foB')]);
    const conversation = await new ParleyRest({
      baseUrl: g0,
      getToken: () => alice.tokens.access,
    }).createConversation(bob.user.id);
    // Alice starts on gateway 0, the one that dies. Her gap fetch waits far longer than this test: what she missed
    // while failing over must come from the re-join's catch-up.
    const a = open(alice, [g0, g1], 60_000);
    // Bob stays on gateway 1. A message stored just before gateway 0 died was never broadcast (the gateway that
    // stores a message broadcasts it, and Alice's retry of it is a repeat, which broadcasts nothing): Bob sees the
    // seqs after it and fetches the gap over REST.
    const b = open(bob, [g1, g0], 1_000);
    const [am, bm] = [record(a), record(b)];
    const states: StateChange[] = [];
    a.on('state', (s) => states.push(s));
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all([a.join(conversation.id), b.join(conversation.id)]);
    expect(a.url).toBe(g0);

    const perSender = 60;
    const sends: Array<Promise<Message>> = [];
    const talk = async (client: ParleyClient, who: string) => {
      for (let i = 0; i < perSender; i++) {
        sends.push(client.send(conversation.id, `${who} ${i}`));
        await sleep(15);
      }
    };
    const talking = Promise.all([talk(a, 'alice'), talk(b, 'bob')]);
    await waitFor('some traffic before the kill', () => bm.length >= 30);
    await cluster.gateways[0]!.stop('SIGKILL');
    await talking;
    const acked = await Promise.all(sends);

    const total = perSender * 2;
    const missing = (ms: Message[]) =>
      Array.from({ length: total }, (_, i) => i + 1).filter((seq) => !ms.some((m) => m.seq === seq));
    await waitFor(
      `${total} messages on both sides`,
      () => am.length >= total && bm.length >= total,
      15_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: alice lacks ${missing(am).join()}, bob lacks ${missing(bm).join()}`);
    });
    await sleep(500); // anything extra (a duplicate) would arrive now
    const oneToN = Array.from({ length: total }, (_, i) => i + 1);
    expect(am.map((m) => m.seq)).toEqual(oneToN);
    expect(bm.map((m) => m.seq)).toEqual(oneToN);
    expect(new Set(acked.map((m) => m.id)).size).toBe(total);
    // each sender's messages were stored in the order it sent them, once each
    for (const who of ['alice', 'bob']) {
      expect(am.filter((m) => m.content.startsWith(who)).map((m) => m.content)).toEqual(
        Array.from({ length: perSender }, (_, i) => `${who} ${i}`),
      );
    }
    const [row] = await cluster.db.sql<{ n: number; distinct_ids: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT client_message_id)::int AS distinct_ids FROM messages WHERE conversation_id = $1',
      [conversation.id],
    );
    expect(row).toEqual({ n: total, distinct_ids: total });

    // alice lost gateway 0, waited (backoff), and moved on to gateway 1
    expect(a.url).toBe(g1);
    expect(states.some((s) => s.state === 'reconnecting' && s.delayMs !== undefined)).toBe(true);
    expect(states.at(-1)).toMatchObject({ state: 'connected', url: g1 });
  });
});
