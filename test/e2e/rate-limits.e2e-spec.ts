import type { AuthResult, Conversation } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, Cluster, connect, registerUser, request, type ChatClient } from '@parley/testing';

// Rate limits are per user, shared by every gateway instance and by REST.
const PER_SECOND = 5;
const BURST = 10;
let cluster: Cluster;
let gw: [string, string];
let alice: AuthResult;
let conversation: Conversation;
const opened: ChatClient[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 1,
    gatewayEnv: {
      RATE_LIMIT_MESSAGES_PER_SECOND: String(PER_SECOND),
      RATE_LIMIT_MESSAGES_BURST: String(BURST),
      RATE_LIMIT_TYPING_PER_SECOND: '1',
      RATE_LIMIT_TYPING_BURST: '3',
    },
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
  const bob = await registerUser(gw[1], 'rlB');
  alice = await registerUser(gw[0], 'rlA');
  conversation = (
    await api<Conversation>(gw[0], 'POST', '/api/chats/conversations', {
      token: alice.tokens.access,
      body: { receiver_id: bob.user.id },
    })
  ).body;
});
afterAll(async () => {
  for (const s of opened) s.close();
  await cluster?.stop();
});

describe('rate limits', () => {
  it('holds one budget for a user spreading sends over two gateways and REST', async () => {
    const [s0, s1] = await Promise.all([
      connect(gw[0], { token: alice.tokens.access }),
      connect(gw[1], { token: alice.tokens.access }),
    ]);
    opened.push(s0, s1);
    const started = Date.now();
    const socketSend = (s: ChatClient, i: number) =>
      request<{ success: boolean; error?: string }>(s, 'send-message', {
        sender_id: alice.user.id,
        conversation_id: conversation.id,
        message_type: 'text',
        content: `m${i}`,
      }).then((ack) => (ack.success ? 'ok' : ack.error));
    const restSend = (url: string, i: number) =>
      api<{ message: string }>(url, 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
        token: alice.tokens.access,
        body: { message_type: 'text', content: `r${i}` },
      }).then((res) => (res.status === 201 ? 'ok' : `${res.status} ${res.body.message}`));
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 4 === 0 ? socketSend(s0, i) : i % 4 === 1 ? socketSend(s1, i) : restSend(gw[i % 2]!, i),
      ),
    );
    const elapsedSeconds = Math.ceil((Date.now() - started) / 1000);
    const accepted = outcomes.filter((o) => o === 'ok').length;
    const refused = outcomes.filter((o) => o !== 'ok');
    // PER_SECOND in each one-second window, plus a burst pool of BURST - PER_SECOND (refilled every 10 s); two
    // separate per-instance budgets would allow twice that.
    expect(accepted).toBeGreaterThanOrEqual(BURST);
    expect(accepted).toBeLessThanOrEqual(BURST + PER_SECOND * elapsedSeconds);
    expect(new Set(refused)).toEqual(new Set(['Rate limit exceeded', '429 Rate limit exceeded']));
    const [{ n }] = (await cluster.db.sql<{ n: number }>('SELECT count(*)::int AS n FROM messages')) as [
      { n: number },
    ];
    expect(n).toBe(accepted);
  });

  it('limits typing separately, with its own smaller budget', async () => {
    const s = await connect(gw[1], { token: alice.tokens.access });
    opened.push(s);
    const acks = await Promise.all(
      Array.from({ length: 10 }, () =>
        request<{ success: boolean; error?: string }>(s, 'typing', {
          conversationId: conversation.id,
          userId: alice.user.id,
          isTyping: true,
        }),
      ),
    );
    const ok = acks.filter((a) => a.success).length;
    expect(ok).toBeGreaterThanOrEqual(3);
    expect(ok).toBeLessThanOrEqual(5);
    expect(acks.filter((a) => !a.success).every((a) => a.error === 'Rate limit exceeded')).toBe(true);
  });
});
