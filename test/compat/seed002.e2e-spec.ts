import type { AuthResult, Message } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, conversationBetween, registerUser, request, sleep, waitFor } from '@parley/testing';
import { ChatManager, setBaseUrl } from './clients/seed002-client.js';
import { browserGlobals, Frames, joinedSocketIo, sendSocketIo } from './support.js';

// Seed 002's clients (its own ChatManager, transcribed, with the base URL changed to the gateway's /compat/002
// mount) on 2 gateways + 2 chats services, with seed 003's Socket.IO clients on the other gateway.
let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 2,
    gatewayEnv: {
      RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
      RATE_LIMIT_MESSAGES_BURST: '100000',
      RATE_LIMIT_TYPING_PER_SECOND: '1',
      RATE_LIMIT_TYPING_BURST: '5',
    },
  });
});
afterAll(async () => {
  await cluster?.stop();
});

/** The seed's ChatManager, with the two methods the seed leaves to the application recording what they get. */
class RecordingChatManager extends ChatManager {
  readonly lists: unknown[][] = [];
  readonly chatMessages: Record<string, unknown>[] = [];
  readonly updates: Record<string, unknown>[] = [];
  readonly chatFrames: Record<string, unknown>[] = [];

  override handleConversationUpdate(data: Record<string, unknown>): void {
    this.updates.push(data);
    super.handleConversationUpdate(data);
  }
  override handleChatMessage(data: Record<string, unknown>): void {
    this.chatFrames.push(data);
    super.handleChatMessage(data);
  }
  updateConversationList(conversations: unknown[]): void {
    this.lists.push(conversations);
  }
  addMessageToChat(message: Record<string, unknown>): void {
    this.chatMessages.push(message);
  }
}

function manager(user: AuthResult, gateway: number): RecordingChatManager {
  browserGlobals(cluster.gatewayUrl(gateway));
  setBaseUrl(`${cluster.gatewayUrl(gateway).replace(/^http/, 'ws')}/compat/002`);
  return new RecordingChatManager(user.tokens.access);
}

function wsUrl(gateway: number, path: string): string {
  return `${cluster.gatewayUrl(gateway).replace(/^http/, 'ws')}/compat/002${path}`;
}

describe('seed 002: the chat socket and the conversation-list socket', () => {
  it('serves the seed ChatManager: lists, recent messages, chat messages both ways once and in order, new_customer_message', async () => {
    const [agent, customer] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's2a'),
      registerUser(cluster.gatewayUrl(1), 's2b'),
    ]);
    const conversation = await conversationBetween(cluster.gatewayUrl(1), customer, agent);
    const customerSocket = await joinedSocketIo(cluster.gatewayUrl(1), customer, conversation);
    await sendSocketIo(customerSocket, customer, conversation, 'hello, I need help');

    const chat = manager(agent, 0);
    chat.connectToConversationList();
    await waitFor('conversations_list on connect', () => chat.lists.length >= 1);
    const [listed] = chat.lists[0] as Record<string, unknown>[];
    expect(listed).toMatchObject({
      id: conversation.id,
      title: null,
      status: 'active',
      customer: null,
      priority: 0,
      unread_count: 1,
      last_message: { content: 'hello, I need help', type: 'customer' },
    });
    for (const key of ['created_at', 'updated_at'])
      expect(Date.parse(listed![key] as string)).toBeGreaterThan(0);

    chat.connectToChat(conversation.id);
    await waitFor('recent_messages on connect', () =>
      chat.chatFrames.some((f) => f.type === 'recent_messages'),
    );
    const recent = chat.chatFrames.find((f) => f.type === 'recent_messages')!.messages as Record<
      string,
      unknown
    >[];
    expect(recent).toHaveLength(1);
    expect(recent[0]).toMatchObject({
      content: 'hello, I need help',
      type: 'customer',
      customer: null,
      is_ai_response: false,
      is_answered: false,
      sender_id: customer.user.id,
      conversation_id: conversation.id,
      seq: 1,
    });

    const n = 15;
    for (let i = 0; i < n; i++) {
      chat.sendMessage(`agent ${i}`);
      await sendSocketIo(customerSocket, customer, conversation, `customer ${i}`);
    }
    await waitFor(`${2 * n} chat messages`, () => chat.chatMessages.length >= 2 * n);
    await waitFor('the Socket.IO side to get them', () => customerSocket.of('receive-message').length >= n);
    await sleep(200);
    expect(chat.chatMessages).toHaveLength(2 * n);
    const mine = chat.chatMessages.filter((m) => m.sender_id === agent.user.id);
    expect(mine.map((m) => m.content)).toEqual(Array.from({ length: n }, (_, i) => `agent ${i}`));
    expect(mine.every((m) => m.type === 'support')).toBe(true);
    const theirs = chat.chatMessages.filter((m) => m.sender_id === customer.user.id);
    expect(theirs.map((m) => m.content)).toEqual(Array.from({ length: n }, (_, i) => `customer ${i}`));
    expect(customerSocket.of<Message>('receive-message').map((m) => m.content)).toEqual(
      Array.from({ length: n }, (_, i) => `agent ${i}`),
    );
    // The conversation list heard of each of the customer's messages, once.
    const announced = chat.updates.filter((u) => u.type === 'new_customer_message');
    expect(announced.map((u) => (u.message as { content: string }).content)).toEqual(
      Array.from({ length: n }, (_, i) => `customer ${i}`),
    );
    expect(announced.every((u) => u.conversation_id === conversation.id)).toBe(true);

    // refresh_conversations answers with the list again, now with the last message (either side's: the agent's
    // sends are not awaited).
    chat.conversationSocket!.send(JSON.stringify({ type: 'refresh_conversations' }));
    await waitFor('a second list', () => chat.lists.length >= 2);
    const [latest] = chat.lists[1] as Record<string, unknown>[];
    expect([`agent ${n - 1}`, `customer ${n - 1}`]).toContain(
      (latest!.last_message as { content: string }).content,
    );
    chat.chatSocket!.close();
    chat.conversationSocket!.close();
    customerSocket.socket.close();
  });

  it('typing and mark_read reach the Socket.IO side, and the Socket.IO side reaches the seed client', async () => {
    const [agent, customer] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's2c'),
      registerUser(cluster.gatewayUrl(1), 's2d'),
    ]);
    const conversation = await conversationBetween(cluster.gatewayUrl(1), customer, agent);
    const customerSocket = await joinedSocketIo(cluster.gatewayUrl(1), customer, conversation);
    await sendSocketIo(customerSocket, customer, conversation, 'are you there?');
    const ws = new Frames(wsUrl(0, `/ws/chat/${conversation.id}/?token=${agent.tokens.access}`));
    await ws.wait('recent_messages', (f) => f.type === 'recent_messages');

    ws.send({ type: 'typing', is_typing: true });
    const typing = await customerSocket.wait<{ userId: number; isTyping: boolean }>('user-typing');
    expect(typing[0]).toEqual({ conversationId: conversation.id, userId: agent.user.id, isTyping: true });

    const ack = await request<{ success: boolean }>(customerSocket.socket, 'typing', {
      conversationId: conversation.id,
      userId: customer.user.id,
      isTyping: true,
    });
    expect(ack.success).toBe(true);
    const [indicator] = await ws.wait('typing_indicator', (f) => f.type === 'typing_indicator');
    expect(indicator).toEqual({
      type: 'typing_indicator',
      user_id: customer.user.id,
      username: customer.user.username,
      is_typing: true,
    });

    ws.send({ type: 'mark_read' });
    const read = await customerSocket.wait<{ userId: number; seq: number }>('messages-read');
    expect(read[0]).toEqual({ conversationId: conversation.id, userId: agent.user.id, seq: 1 });
    const [echo] = await ws.wait('messages_read', (f) => f.type === 'messages_read');
    expect(echo).toEqual({
      type: 'messages_read',
      user_id: agent.user.id,
      conversation_id: conversation.id,
      seq: 1,
    });
    // The typing frames of one socket never came back to it.
    expect(ws.where((f) => f.type === 'typing_indicator' && f.user_id === agent.user.id)).toEqual([]);
    ws.close();
    customerSocket.socket.close();
  });

  it('errors: Invalid JSON format and the rest answered on the open socket; rate limits apply; outsiders closed', async () => {
    const [agent, customer, outsider] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's2e'),
      registerUser(cluster.gatewayUrl(1), 's2f'),
      registerUser(cluster.gatewayUrl(1), 's2g'),
    ]);
    const conversation = await conversationBetween(cluster.gatewayUrl(1), customer, agent);
    const ws = new Frames(wsUrl(1, `/ws/chat/${conversation.id}/?token=${agent.tokens.access}`));
    await ws.wait('recent_messages', (f) => f.type === 'recent_messages');
    ws.send('not json at all');
    ws.send({ type: 'chat_message' });
    ws.send({ type: 'chat_message', content: '' });
    ws.send({ type: 'dance' });
    ws.send({ type: 'typing', is_typing: 'yes' });
    ws.send({ type: 'chat_message', content: 'still here' });
    await ws.wait('the echo', (f) => f.type === 'chat_message');
    expect(ws.where((f) => 'error' in f).map((f) => f.error)).toEqual([
      'Invalid JSON format',
      'content must be a string',
      'content should not be empty',
      'Unknown message type',
      'is_typing must be a boolean value',
    ]);
    // Typing: a burst of 5, then 1 per second, as for Socket.IO clients.
    for (let i = 0; i < 10; i++) ws.send({ type: 'typing', is_typing: true });
    await ws.wait('rate limit errors', (f) => f.error === 'Rate limit exceeded');
    expect(ws.closed).toBeUndefined();

    const intruder = new Frames(wsUrl(0, `/ws/chat/${conversation.id}/?token=${outsider.tokens.access}`));
    expect((await intruder.waitClosed()).code).toBe(4403);
    expect(intruder.frames).toEqual([{ error: 'Unauthorized to join this conversation' }]);
    const missing = new Frames(wsUrl(0, `/ws/chat/987654321/?token=${outsider.tokens.access}`));
    expect([4403, 4404]).toContain((await missing.waitClosed()).code);
    const noToken = new Frames(wsUrl(0, `/ws/conversations/`));
    await noToken.waitClosed();
    expect(noToken.refused).toBe(401);
    // Not served at the bare paths in this deployment (COMPAT_BARE_PATHS=none).
    const bare = new Frames(
      `${cluster.gatewayUrl(0).replace(/^http/, 'ws')}/ws/conversations/?token=${agent.tokens.access}`,
    );
    await bare.waitClosed();
    expect(bare.frames).toEqual([]);
    ws.close();
  });

  it('a drained gateway closes its plain-WebSocket clients with 1012; they reconnect to another and miss nothing', async () => {
    const [agent, customer] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's2h'),
      registerUser(cluster.gatewayUrl(1), 's2i'),
    ]);
    const conversation = await conversationBetween(cluster.gatewayUrl(1), customer, agent);
    const leaving = await cluster.startGateway();
    const url = `${leaving.url.replace(/^http/, 'ws')}/compat/002/ws/chat/${conversation.id}/?token=${agent.tokens.access}`;
    const ws = new Frames(url);
    await ws.wait('recent_messages', (f) => f.type === 'recent_messages');
    const customerSocket = await joinedSocketIo(cluster.gatewayUrl(1), customer, conversation);
    await sendSocketIo(customerSocket, customer, conversation, 'before the drain');
    await ws.wait('the first message', (f) => f.type === 'chat_message');
    const stopped = leaving.stop('SIGTERM');
    expect((await ws.waitClosed()).code).toBe(1012);
    await sendSocketIo(customerSocket, customer, conversation, 'during the drain');
    await stopped;
    const again = new Frames(wsUrl(0, `/ws/chat/${conversation.id}/?token=${agent.tokens.access}`));
    const [recent] = await again.wait('recent_messages', (f) => f.type === 'recent_messages');
    expect((recent!.messages as Message[]).map((m) => m.content)).toEqual([
      'before the drain',
      'during the drain',
    ]);
    again.close();
    customerSocket.socket.close();
  });
});
