import type { AuthResult, Message } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, Cluster, connectRecorded, registerUser, request, sleep, waitFor } from '@parley/testing';
import { ChatService, setBaseUrls } from './clients/seed000-client.js';
import { browserGlobals, Frames } from './support.js';

// Seed 000's clients (its own ChatService, transcribed: base URL changed, the socket given the REST token) on
// 2 gateways + 2 chats services, with seed 003's Socket.IO clients on the other gateway.
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

function useGateway(gateway: number): string {
  const http = `${cluster.gatewayUrl(gateway)}/compat/000`;
  setBaseUrls(http, http.replace(/^http/, 'ws'));
  browserGlobals(cluster.gatewayUrl(gateway));
  return http;
}

interface SeedFrame {
  type: string;
  message: { id: string; text: string; sender: string; timestamp: string; attachments: string[] };
}

describe('seed 000: REST list and send, and the chat socket', () => {
  it("serves the seed's ChatService: first message creates the conversation, then the socket carries both ways once, in order", async () => {
    const [buyer, seller] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's0a'),
      registerUser(cluster.gatewayUrl(1), 's0b'),
    ]);
    const sellerId = String(seller.user.id);
    useGateway(0);
    const service = new ChatService(buyer.tokens.access, String(buyer.user.id));
    const conversationId = await service.initializeConversation(sellerId, 'Hello! Is this still available?');
    expect(conversationId).toMatch(/^\d+$/);

    const frames: SeedFrame[] = [];
    service.connectWebSocket((data: never) => frames.push(data));
    await waitFor('the socket to open', () => service.ws?.readyState === 1);
    const sellerSocket = await connectRecorded(cluster.gatewayUrl(1), { token: seller.tokens.access });
    const joined = await request<{ success: boolean }>(sellerSocket.socket, 'join-conversation', {
      conversationId: Number(conversationId),
      userId: seller.user.id,
    });
    expect(joined.success).toBe(true);
    await sleep(100); // the socket joins the room once its membership is checked

    const n = 15;
    for (let i = 0; i < n; i++) {
      service.sendMessage(
        `buyer ${i}`,
        sellerId,
        i === 0 ? ['https://cdn.example.com/photo.jpg'] : [],
        null,
        'p-42',
      );
      const ack = await request<{ success: boolean }>(sellerSocket.socket, 'send-message', {
        sender_id: seller.user.id,
        conversation_id: Number(conversationId),
        message_type: 'text',
        content: `seller ${i}`,
      });
      expect(ack.success).toBe(true);
    }
    await waitFor(`${2 * n} frames`, () => frames.length >= 2 * n);
    await sleep(200);
    expect(frames).toHaveLength(2 * n);
    expect(frames.every((f) => f.type === 'chat_message')).toBe(true);
    const mine = frames.filter((f) => f.message.sender === 'me');
    expect(mine.map((f) => f.message.text)).toEqual(Array.from({ length: n }, (_, i) => `buyer ${i}`));
    expect(mine[0]!.message.attachments).toEqual(['https://cdn.example.com/photo.jpg']);
    const theirs = frames.filter((f) => f.message.sender === sellerId);
    expect(theirs.map((f) => f.message.text)).toEqual(Array.from({ length: n }, (_, i) => `seller ${i}`));
    for (const f of frames) {
      expect(f.message.id).toMatch(/^\d+$/);
      expect(Date.parse(f.message.timestamp)).toBeGreaterThan(0);
    }
    await waitFor('the Socket.IO side', () => sellerSocket.of('receive-message').length >= n);
    const got = sellerSocket.of<Message>('receive-message');
    expect(got.map((m) => m.content)).toEqual(Array.from({ length: n }, (_, i) => `buyer ${i}`));
    expect(got[1]!.metadata).toEqual({ productId: 'p-42' });
    expect(got[0]!.attachments).toEqual([{ type: 'file', url: 'https://cdn.example.com/photo.jpg' }]);

    // The list, as the seller sees it: the buyer as otherUser, the unread count as a string, the product.
    const list = await api<{ success: boolean; conversations: Record<string, unknown>[] }>(
      `${cluster.gatewayUrl(1)}/compat/000`,
      'GET',
      '/api/chat/conversations/',
      { token: seller.tokens.access },
    );
    expect(list.status).toBe(200);
    expect(list.body.success).toBe(true);
    expect(list.body.conversations).toHaveLength(1);
    const own = await api<{ unread_count: number }>(
      cluster.gatewayUrl(0),
      'GET',
      `/api/chats/conversations/${conversationId}`,
      { token: seller.tokens.access },
    );
    expect(list.body.conversations[0]).toMatchObject({
      id: conversationId,
      conversationId,
      otherUser: { id: String(buyer.user.id), username: buyer.user.username, profileImage: null },
      unreadCount: String(own.body.unread_count),
      productId: 'p-42',
    });
    expect(['buyer 14', 'seller 14']).toContain(list.body.conversations[0]!.lastMessage);
    service.disconnect();
    sellerSocket.socket.close();
  });

  it('REST errors: no token 401, a bad receiver, a bad body; socket: another sender id, an outsider', async () => {
    const [a, b, c] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's0c'),
      registerUser(cluster.gatewayUrl(1), 's0d'),
      registerUser(cluster.gatewayUrl(1), 's0e'),
    ]);
    const base = useGateway(1);
    const anonymous = await api(base, 'GET', '/api/chat/conversations/');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ success: false, error: 'Unauthorized' });
    const send = (body: unknown, user: AuthResult = a) =>
      api(base, 'POST', '/api/chat/send/', { token: user.tokens.access, body });
    expect((await send({ text: 'hi' })).body).toEqual({ success: false, error: 'receiverId is required' });
    const nobody = await send({ receiverId: '999999999', text: 'hi' });
    expect(nobody.status).toBe(404);
    expect(nobody.body).toEqual({ success: false, error: 'User not found' });
    const empty = await send({ receiverId: String(b.user.id), text: '' });
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual({ success: false, error: 'content should not be empty' });
    const badUrl = await send({ receiverId: String(b.user.id), text: 'x', attachments: ['ftp://nope'] });
    expect(badUrl.status).toBe(400);
    const ok = await send({ receiverId: b.user.id, text: 'hello', offerId: 'o-1' });
    expect(ok.status).toBe(201);
    const { message } = ok.body as {
      message: { id: string; text: string; timestamp: string; conversationId: string };
    };
    expect(message).toMatchObject({ id: expect.stringMatching(/^\d+$/), text: 'hello' });

    const ws = new Frames(
      `${base.replace(/^http/, 'ws')}/ws/chat/${message.conversationId}/?token=${a.tokens.access}`,
    );
    await ws.opened;
    await sleep(100);
    ws.send({
      type: 'chat_message',
      senderId: String(b.user.id),
      receiverId: String(b.user.id),
      text: 'spoofed',
    });
    ws.send({ type: 'chat_message', senderId: String(a.user.id), text: 'x'.repeat(5000) });
    ws.send('nope');
    await ws.wait('three errors', (f) => 'error' in f, 3);
    expect(ws.where((f) => 'error' in f).map((f) => f.error)).toEqual([
      'sender_id must be your own user id',
      'content must be shorter than or equal to 4000 characters',
      'Invalid JSON format',
    ]);
    const outsider = new Frames(
      `${base.replace(/^http/, 'ws')}/ws/chat/${message.conversationId}/?token=${c.tokens.access}`,
    );
    expect((await outsider.waitClosed()).code).toBe(4403);
    const history = await api<{ messages: Message[] }>(
      cluster.gatewayUrl(0),
      'GET',
      `/api/chats/conversations/${message.conversationId}/messages`,
      { token: a.tokens.access },
    );
    expect(history.body.messages.map((m) => [m.content, m.metadata])).toEqual([
      ['hello', { offerId: 'o-1' }],
    ]);
    ws.close();
  });
});
