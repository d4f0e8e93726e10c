import type { Message } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, conversationBetween, registerUser, sleep, waitFor, type Recorder } from '@parley/testing';
import { Frames, joinedSocketIo } from './support.js';

// Plain-WebSocket clients keep Parley's guarantees when a chats service dies: seed 004 and seed 002 clients on one
// gateway, each chatting with a Socket.IO client on the other, send while `kill -9` takes one of the two chats
// services. Every message a WebSocket client saw echoed is stored once and reached its Socket.IO peer once, in seq
// order; nothing is stored twice.
let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 2,
    gatewayEnv: { RATE_LIMIT_MESSAGES_PER_SECOND: '100000', RATE_LIMIT_MESSAGES_BURST: '100000' },
  });
});
afterAll(async () => {
  await cluster?.stop();
});

interface Pair {
  name: string;
  ws: Frames;
  send(text: string): void;
  echoed(): string[];
  peer: Recorder;
  conversationId: number;
}

async function seed004Pair(): Promise<Pair> {
  const [a, b] = await Promise.all([
    registerUser(cluster.gatewayUrl(0), 'f4a'),
    registerUser(cluster.gatewayUrl(1), 'f4b'),
  ]);
  const conversation = await conversationBetween(cluster.gatewayUrl(1), b, a);
  const ws = new Frames(
    `${cluster.gatewayUrl(0).replace(/^http/, 'ws')}/compat/004/ws/chat/${b.user.id}/?token=${a.tokens.access}`,
  );
  await ws.opened;
  return {
    name: 'seed 004',
    ws,
    send: (text) => ws.send({ message: text }),
    echoed: () => ws.where((f) => f.sender_id === a.user.id).map((f) => f.message as string),
    peer: await joinedSocketIo(cluster.gatewayUrl(1), b, conversation),
    conversationId: conversation.id,
  };
}

async function seed002Pair(): Promise<Pair> {
  const [a, b] = await Promise.all([
    registerUser(cluster.gatewayUrl(0), 'f2a'),
    registerUser(cluster.gatewayUrl(1), 'f2b'),
  ]);
  const conversation = await conversationBetween(cluster.gatewayUrl(1), b, a);
  const ws = new Frames(
    `${cluster.gatewayUrl(0).replace(/^http/, 'ws')}/compat/002/ws/chat/${conversation.id}/?token=${a.tokens.access}`,
  );
  await ws.wait('recent_messages', (f) => f.type === 'recent_messages');
  return {
    name: 'seed 002',
    ws,
    send: (text) => ws.send({ type: 'chat_message', content: text }),
    echoed: () =>
      ws
        .where((f) => f.type === 'chat_message')
        .map((f) => f.message as { content: string; sender_id: number })
        .filter((m) => m.sender_id === a.user.id)
        .map((m) => m.content),
    peer: await joinedSocketIo(cluster.gatewayUrl(1), b, conversation),
    conversationId: conversation.id,
  };
}

describe('plain-WebSocket clients when a chats service dies', () => {
  it('kill -9 of a chats service while seed 004 and seed 002 clients send: stored once, delivered once, in order', async () => {
    const pairs = [await seed004Pair(), await seed002Pair()];
    const perPair = 150;
    const sending = (async () => {
      for (let i = 0; i < perPair; i++) {
        for (const p of pairs) p.send(`${p.name} #${i}`);
        await sleep(10);
      }
    })();
    await sleep(400);
    await cluster.chats[0]!.stop('SIGKILL');
    await sending;

    for (const p of pairs) {
      // Every send is answered: echoed (stored), or an error frame (not acknowledged).
      await waitFor(
        `${p.name}: every send answered`,
        () => p.echoed().length + p.ws.where((f) => 'error' in f).length >= perPair,
        30_000,
      );
      const echoed = p.echoed();
      const errors = p.ws.where((f) => 'error' in f).map((f) => f.error as string);
      const stored = await cluster.db.sql<{ content: string; seq: number }>(
        `SELECT content, seq::int FROM messages WHERE conversation_id = ${p.conversationId} ORDER BY seq`,
      );
      const contents = stored.map((r) => r.content);
      // Nothing twice, seqs gapless.
      expect(new Set(contents).size, `${p.name}: stored twice`).toBe(contents.length);
      expect(stored.map((r) => r.seq)).toEqual(stored.map((_, i) => i + 1));
      // Everything acknowledged is stored, and each echo came once.
      expect(new Set(echoed).size).toBe(echoed.length);
      for (const text of echoed) expect(contents).toContain(text);
      // The Socket.IO peer got every stored message once, in seq order.
      await waitFor(
        `${p.name}: the peer gets all ${contents.length}`,
        () => p.peer.of('receive-message').length >= contents.length,
        15_000,
      );
      await sleep(200);
      const delivered = p.peer.of<Message>('receive-message');
      expect(delivered.map((m) => m.content)).toEqual(contents);
      // The client's own order is kept (frames are handled one after another).
      const order = contents.map((c) => Number(c.split('#')[1]));
      expect(order).toEqual([...order].sort((x, y) => x - y));
      console.log(
        `${p.name}: ${echoed.length} acknowledged, ${errors.length} refused (${[...new Set(errors)].join('; ')})`,
      );
      p.ws.close();
      p.peer.socket.close();
    }
  });
});
