import { randomUUID } from 'node:crypto';
import {
  CHATS_SERVICE,
  type AuthResult,
  type Conversation,
  type Message,
  type MessagePage,
  type SendMessageResult,
} from '@parley/contracts';
import { RedisStreamsClient } from '@parley/redis-streams';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connect,
  openSocket,
  Recorder,
  registerUser,
  request,
  sleep,
  waitFor,
  type ChatClient,
  type ConnectOptions,
} from '@parley/testing';

// The /chat namespace against 2 gateways and 2 chats services (real processes, real Postgres and Redis, the real
// socket.io-client). Rate limits are raised here so that the fan-out test measures delivery, not the limiter;
// rate-limits.e2e-spec.ts tests the limits themselves.
let cluster: Cluster;
let gw: [string, string];
const sockets: ChatClient[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 2,
    // Bursts of hundreds of sends from one socket at once: the per-user and per-socket limits are lifted here.
    gatewayEnv: {
      RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
      RATE_LIMIT_MESSAGES_BURST: '100000',
      SOCKET_MAX_IN_FLIGHT: '10000',
    },
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
});

async function open(url: string, user: AuthResult): Promise<ChatClient> {
  const socket = await connect(url, { token: user.tokens.access });
  sockets.push(socket);
  return socket;
}

async function conversationBetween(a: AuthResult, b: AuthResult): Promise<Conversation> {
  const res = await api<Conversation>(gw[0], 'POST', '/api/chats/conversations', {
    token: a.tokens.access,
    body: { sender_id: a.user.id, receiver_id: b.user.id },
  });
  return res.body;
}

async function messageCount(): Promise<number> {
  return (await cluster.db.sql<{ n: number }>('SELECT count(*)::int AS n FROM messages'))[0]!.n;
}

describe('the seed 003 flow, with users on different gateway instances', () => {
  it('connects, joins, sends, receives, types, and reads history', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'alice'), registerUser(gw[1], 'bob')]);
    const conversation = await conversationBetween(alice, bob);

    // Seed 003 connects with { query: { userId } }; with a token, that still works and must match.
    const a = await connect(gw[0], { token: alice.tokens.access, query: { userId: String(alice.user.id) } });
    const b = await connect(gw[1], { token: bob.tokens.access, query: { userId: String(bob.user.id) } });
    sockets.push(a, b);
    const ra = new Recorder(a);
    const rb = new Recorder(b);

    // Seed clients emit without callbacks and listen for events.
    a.emit('join-conversation', { conversationId: conversation.id, userId: alice.user.id });
    b.emit('join-conversation', { conversationId: conversation.id, userId: bob.user.id });
    expect((await ra.wait('joined-conversation'))[0]).toEqual({
      conversationId: conversation.id,
      success: true,
      last_seq: 0,
      version: 0,
    });
    expect((await ra.wait('recent-messages'))[0]).toEqual({
      conversationId: conversation.id,
      messages: [],
      has_more: false,
    });
    await rb.wait('recent-messages');

    a.emit('send-message', {
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      message_type: 'text',
      content: 'Hello!',
    });
    const [sent] = await ra.wait<Message>('message-sent');
    const [received] = await rb.wait<Message>('receive-message');
    expect(sent).toEqual({
      id: expect.any(Number),
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      seq: 1,
      timestamp: expect.any(String),
      message_type: 'text',
      content: 'Hello!',
      client_message_id: null,
      conversation: { id: conversation.id, sender_id: alice.user.id, receiver_id: bob.user.id },
      version: 1,
      edited_at: null,
      deleted_at: null,
      reply_to_id: null,
      attachments: [],
      metadata: {},
      reactions: [],
    });
    expect(received).toEqual(sent);

    b.emit('typing', { conversationId: conversation.id, userId: bob.user.id, isTyping: true });
    expect((await ra.wait('user-typing'))[0]).toEqual({
      conversationId: conversation.id,
      userId: bob.user.id,
      isTyping: true,
    });

    const history = await api<MessagePage>(
      gw[1],
      'GET',
      `/api/chats/conversations/${conversation.id}/messages?page=1&limit=20`,
      {
        token: bob.tokens.access,
      },
    );
    // History adds the caller's own reactions.
    expect(history.body).toEqual({ messages: [{ ...sent, my_reactions: [] }], has_more: false });

    await sleep(200);
    // The sender gets message-sent, never its own receive-message; nobody saw an error; bob's typing is not echoed.
    expect(ra.of('receive-message')).toEqual([]);
    expect(rb.of('user-typing')).toEqual([]);
    expect([...ra.of('error'), ...rb.of('error'), ...ra.of('message-error')]).toEqual([]);
  });

  it('acknowledges every client event with {success: true, ...}', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'ackA'), registerUser(gw[1], 'ackB')]);
    const conversation = await conversationBetween(alice, bob);
    const a = await open(gw[1], alice);
    const join = await request(a, 'join-conversation', {
      conversationId: conversation.id,
      userId: alice.user.id,
    });
    expect(join).toEqual({
      success: true,
      conversationId: conversation.id,
      last_seq: 0,
      last_read_seq: 0,
      version: 0,
    });
    const send = await request<{ success: true; message: Message }>(a, 'send-message', {
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      message_type: 'text',
      content: 'with an ack',
      client_message_id: 'ack-1',
    });
    expect(send).toEqual({
      success: true,
      message: expect.objectContaining({ seq: 1, client_message_id: 'ack-1' }),
    });
    expect(
      await request(a, 'typing', { conversationId: conversation.id, userId: alice.user.id, isTyping: false }),
    ).toEqual({
      success: true,
      conversationId: conversation.id,
    });
    expect(await request(a, 'mark-read', { conversationId: conversation.id })).toEqual({
      success: true,
      conversationId: conversation.id,
      seq: 1,
    });
    expect(await request(a, 'leave-conversation', { conversationId: conversation.id })).toEqual({
      success: true,
      conversationId: conversation.id,
    });
    // A repeated client_message_id returns the stored message and broadcasts nothing new.
    const b = await open(gw[0], bob);
    const rb = new Recorder(b);
    await request(b, 'join-conversation', { conversationId: conversation.id, userId: bob.user.id });
    const again = await request<{ message: Message }>(a, 'send-message', {
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      message_type: 'text',
      content: 'with an ack',
      client_message_id: 'ack-1',
    });
    expect(again.message).toEqual(send.message);
    await sleep(300);
    expect(rb.of('receive-message')).toEqual([]);
    expect(await messageCount()).toBeGreaterThan(0);
  });
});

describe('authentication at the handshake', () => {
  let user: AuthResult;
  beforeAll(async () => {
    user = await registerUser(gw[0], 'hs');
  });

  it('accepts the token from auth.token, ?token= and Authorization, and a matching ?userId=', async () => {
    const ways: ConnectOptions[] = [
      { token: user.tokens.access },
      { query: { token: user.tokens.access } },
      { headers: { authorization: `Bearer ${user.tokens.access}` } },
      { token: user.tokens.access, query: { userId: String(user.user.id) } },
    ];
    for (const opts of ways) {
      const s = await connect(gw[1], opts);
      expect(s.connected).toBe(true);
      s.close();
    }
  });

  it('refuses a missing, forged or refresh token, and a ?userId= that is not the token’s, with connect_error "Unauthorized"', async () => {
    const other = await registerUser(gw[0], 'hs2');
    for (const opts of [
      {},
      { token: 'not-a-token' },
      { token: `${user.tokens.access.slice(0, -4)}AAAA` },
      { token: user.tokens.refresh },
      { query: { userId: String(user.user.id) } }, // seed 003 without a token: only with AUTH_MODE=insecure-user-id
      { token: user.tokens.access, query: { userId: String(other.user.id) } },
    ]) {
      await expect(connect(gw[0], opts)).rejects.toThrow('Unauthorized');
    }
  });

  it('AUTH_MODE=insecure-user-id accepts seed 003 clients that send only ?userId=', async () => {
    const insecure = await cluster.startGateway({ AUTH_MODE: 'insecure-user-id' });
    const s = await connect(insecure.url, { query: { userId: String(user.user.id) } });
    expect(s.connected).toBe(true);
    s.close();
    expect(insecure.logs()).toContain('AUTH_MODE=insecure-user-id');
    await expect(connect(insecure.url, {})).rejects.toThrow('Unauthorized');
    await insecure.stop('SIGKILL');
    cluster.gateways.pop();
  });
});

describe('delivery across instances', () => {
  it('3 sockets in one room on 2 instances, two senders × 500 concurrent messages: each delivered once to every other socket, in each sender’s order, stored as seq 1..1000', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'fanA'), registerUser(gw[1], 'fanB')]);
    const conversation = await conversationBetween(alice, bob);
    const a1 = await open(gw[0], alice);
    const a2 = await open(gw[1], alice); // alice's second device, on the other instance
    const b = await open(gw[1], bob);
    const recorders = [a1, a2, b].map((s) => new Recorder(s));
    for (const [s, u] of [
      [a1, alice],
      [a2, alice],
      [b, bob],
    ] as const) {
      await request(s, 'join-conversation', { conversationId: conversation.id, userId: u.user.id });
    }
    const burst = (socket: ChatClient, user: AuthResult, tag: string) =>
      Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          request<{ success: boolean; message: Message }>(
            socket,
            'send-message',
            {
              sender_id: user.user.id,
              conversation_id: conversation.id,
              message_type: 'text',
              content: `${tag}-${i}`,
              client_message_id: `${tag}-${i}`,
            },
            30_000,
          ),
        ),
      );
    const [fromA, fromB] = await Promise.all([burst(a1, alice, 'a'), burst(b, bob, 'b')]);
    expect([...fromA, ...fromB].every((ack) => ack.success)).toBe(true);

    const [ra1, ra2, rb] = recorders as [Recorder, Recorder, Recorder];
    await ra1.wait('receive-message', 500, 30_000); // bob's
    await ra2.wait('receive-message', 1000, 30_000); // both senders'
    await rb.wait('receive-message', 500, 30_000); // alice's
    await sleep(500); // anything extra would have arrived by now

    const contents = (r: Recorder) => r.of<Message>('receive-message').map((m) => m.content);
    const ordered = (r: Recorder, tag: string) =>
      contents(r)
        .filter((c) => c.startsWith(`${tag}-`))
        .map((c) => Number(c.slice(2)));
    const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);
    expect(ordered(ra1, 'b')).toEqual(upTo(500));
    expect(ordered(ra1, 'a')).toEqual([]); // never its own
    expect(ordered(ra2, 'a')).toEqual(upTo(500));
    expect(ordered(ra2, 'b')).toEqual(upTo(500));
    expect(ordered(rb, 'a')).toEqual(upTo(500));
    expect(ordered(rb, 'b')).toEqual([]);
    expect(ra1.of('message-sent')).toHaveLength(500);
    expect(rb.of('message-sent')).toHaveLength(500);
    expect(ra2.of('message-sent')).toHaveLength(0);

    const seqs = await cluster.db.sql<{ seq: number }>(
      'SELECT seq FROM messages WHERE conversation_id = $1 ORDER BY seq',
      [conversation.id],
    );
    expect(seqs.map((r) => r.seq)).toEqual(upTo(1000).map((i) => i + 1));
    // seq follows each sender's order too.
    const seqOf = new Map([...fromA, ...fromB].map((ack) => [ack.message.content, ack.message.seq]));
    for (const tag of ['a', 'b']) {
      const s = upTo(500).map((i) => seqOf.get(`${tag}-${i}`)!);
      expect(s).toEqual([...s].sort((x, y) => x - y));
    }
  });

  it('delivers 1:1 messages between a gateway in BROADCAST_MODE=rooms (as during a roll from an earlier release) and one in direct mode, once each', async () => {
    const rooms = await cluster.startGateway({ BROADCAST_MODE: 'rooms' });
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'modeA'), registerUser(rooms.url, 'modeB')]);
    const conversation = await conversationBetween(alice, bob);
    const a = await open(gw[0], alice); // direct mode
    const b = await open(rooms.url, bob);
    const bList = await open(rooms.url, bob); // not joined: conversation-updated only
    const [ra, rb, rbList] = [a, b, bList].map((s) => new Recorder(s)) as [Recorder, Recorder, Recorder];
    await request(a, 'join-conversation', { conversationId: conversation.id, userId: alice.user.id });
    await request(b, 'join-conversation', { conversationId: conversation.id, userId: bob.user.id });
    const send = (socket: ChatClient, user: AuthResult, content: string) =>
      request<{ success: boolean; message: Message }>(socket, 'send-message', {
        sender_id: user.user.id,
        conversation_id: conversation.id,
        message_type: 'text',
        content,
      });
    const fromA = await send(a, alice, 'direct to rooms');
    expect((await rb.wait<Message>('receive-message'))[0]).toEqual(fromA.message);
    expect(
      (await rbList.wait<{ conversation: Conversation }>('conversation-updated'))[0]!.conversation,
    ).toMatchObject({ id: conversation.id, last_seq: 1, unread_count: 1 });
    const fromB = await send(b, bob, 'rooms to direct');
    expect((await ra.wait<Message>('receive-message'))[0]).toEqual(fromB.message);
    const updates = await ra.wait<{ conversation: Conversation }>('conversation-updated', 2);
    expect(updates.map((u) => [u.conversation.last_seq, u.conversation.unread_count])).toEqual([
      [1, 0],
      [2, 1],
    ]);
    await sleep(300); // anything extra would have arrived by now
    expect(ra.of('receive-message')).toHaveLength(1);
    expect(rb.of('receive-message')).toHaveLength(1);
    expect(rbList.of('receive-message')).toHaveLength(0);
    expect(rb.of('conversation-updated')).toHaveLength(2);
    expect(rbList.of('conversation-updated')).toHaveLength(2);
  });

  it('broadcasts a REST send to every socket of the room, and conversation-updated with unread counts to both participants', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'restA'), registerUser(gw[1], 'restB')]);
    const conversation = await conversationBetween(alice, bob);
    const a = await open(gw[0], alice);
    const b = await open(gw[1], bob); // not joined: gets conversation-updated only
    const ra = new Recorder(a);
    const rb = new Recorder(b);
    await request(a, 'join-conversation', { conversationId: conversation.id, userId: alice.user.id });
    const res = await api<Message>(gw[1], 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
      token: alice.tokens.access,
      body: { message_type: 'text', content: 'via REST' },
    });
    expect(res.status).toBe(201);
    expect((await ra.wait<Message>('receive-message'))[0]).toEqual(res.body); // the sender's own socket too: REST has no socket
    const [forBob] = await rb.wait<{ conversation: Conversation }>('conversation-updated');
    expect(forBob!.conversation).toMatchObject({
      id: conversation.id,
      last_seq: 1,
      unread_count: 1,
      last_message: res.body,
    });
    const [forAlice] = await ra.wait<{ conversation: Conversation }>('conversation-updated');
    expect(forAlice!.conversation.unread_count).toBe(0);
    expect(rb.of('receive-message')).toEqual([]);
  });

  it('broadcasts a message once, on the retry, when the gateway that stored it died before broadcasting', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'orphA'), registerUser(gw[1], 'orphB')]);
    const conversation = await conversationBetween(alice, bob);
    const a = await open(gw[0], alice);
    const b = await open(gw[1], bob);
    const rb = new Recorder(b);
    await request(b, 'join-conversation', { conversationId: conversation.id, userId: bob.user.id });
    const send = {
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      message_type: 'text' as const,
      content: 'committed, never broadcast',
      client_message_id: 'orphan-1',
    };
    // What a gateway killed between the commit and the broadcast leaves behind: its request answered by a chats
    // service, the message stored, nothing broadcast. Sent here over the real RPC transport, as a gateway does.
    const rpc = new RedisStreamsClient({
      redis: cluster.redisUrl,
      keyPrefix: cluster.redisPrefix,
      service: CHATS_SERVICE,
    });
    await rpc.connect();
    const stored = await firstValueFrom<SendMessageResult>(
      rpc.send('messages.send', { ...send, request_id: randomUUID() }),
    );
    await rpc.close();
    expect(stored.created).toBe(true);
    await sleep(300);
    expect(rb.of('receive-message')).toEqual([]);

    // The sender retries with the same client_message_id (on the gateway that is still up): bob gets it now.
    const retry = await request<{ message: Message }>(a, 'send-message', send);
    expect(retry.message).toEqual(stored.message);
    expect(await rb.wait<Message>('receive-message')).toEqual([stored.message]);
    // Further retries, over Socket.IO and REST, on either gateway, broadcast nothing more.
    await request(a, 'send-message', send);
    const rest = await api<Message>(gw[1], 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
      token: alice.tokens.access,
      body: { message_type: 'text', content: send.content, client_message_id: send.client_message_id },
    });
    expect(rest).toEqual({ status: 200, body: stored.message });
    await sleep(500);
    expect(rb.of('receive-message')).toEqual([stored.message]);
  });

  it('mark-read sends messages-read to the room and to the reader’s other sockets, only when the mark moves', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'readA'), registerUser(gw[1], 'readB')]);
    const conversation = await conversationBetween(alice, bob);
    const a = await open(gw[0], alice);
    const bPhone = await open(gw[1], bob);
    const bLaptop = await open(gw[0], bob); // not in the room
    const [ra, rPhone, rLaptop] = [a, bPhone, bLaptop].map((s) => new Recorder(s)) as [
      Recorder,
      Recorder,
      Recorder,
    ];
    await request(a, 'join-conversation', { conversationId: conversation.id, userId: alice.user.id });
    for (let i = 0; i < 3; i++) {
      await request(a, 'send-message', {
        sender_id: alice.user.id,
        conversation_id: conversation.id,
        message_type: 'text',
        content: `m${i}`,
      });
    }
    expect(await request(bPhone, 'mark-read', { conversationId: conversation.id, seq: 2 })).toMatchObject({
      seq: 2,
    });
    const expected = { conversationId: conversation.id, userId: bob.user.id, seq: 2 };
    expect(await ra.wait('messages-read')).toEqual([expected]);
    expect(await rLaptop.wait('messages-read')).toEqual([expected]);
    expect(await rPhone.wait('messages-read')).toEqual([expected]);
    expect(await request(bPhone, 'mark-read', { conversationId: conversation.id, seq: 1 })).toMatchObject({
      seq: 2,
    }); // never back
    await sleep(300);
    expect(ra.of('messages-read')).toHaveLength(1);
    const listed = await api<Conversation>(gw[1], 'GET', `/api/chats/conversations/${conversation.id}`, {
      token: bob.tokens.access,
    });
    expect(listed.body.unread_count).toBe(1);
  });

  it('catches up on reconnect with since_seq, from Postgres, on either instance', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'cuA'), registerUser(gw[1], 'cuB')]);
    const conversation = await conversationBetween(alice, bob);
    const a = await open(gw[0], alice);
    let b = await open(gw[0], bob);
    await request(b, 'join-conversation', { conversationId: conversation.id, userId: bob.user.id });
    const send = (content: string) =>
      request<{ message: Message }>(a, 'send-message', {
        sender_id: alice.user.id,
        conversation_id: conversation.id,
        message_type: 'text',
        content,
      });
    await send('one');
    await send('two');
    b.close(); // bob drops off having seen seq 2
    for (let i = 3; i <= 7; i++) await send(`n${i}`);

    b = await open(gw[1], bob); // comes back on the other instance
    const rb = new Recorder(b);
    const ack = await request(b, 'join-conversation', {
      conversationId: conversation.id,
      userId: bob.user.id,
      since_seq: 2,
    });
    expect(ack).toMatchObject({ success: true, last_seq: 7 });
    const [recent] = await rb.wait<{ messages: Message[]; has_more: boolean }>('recent-messages');
    expect(recent!.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(recent!.has_more).toBe(false);
    await send('live');
    expect((await rb.wait<Message>('receive-message'))[0]!.seq).toBe(8);
    // Without since_seq: the latest 50, with has_more when there are older ones.
    const c = await open(gw[1], bob);
    const rc = new Recorder(c);
    for (let i = 0; i < 50; i++) await send(`bulk${i}`);
    await request(c, 'join-conversation', { conversationId: conversation.id, userId: bob.user.id });
    const [latest] = await rc.wait<{ messages: Message[]; has_more: boolean }>('recent-messages');
    expect(latest!.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 9));
    expect(latest!.has_more).toBe(true);
  });
});

describe('errors: the contract’s exact strings, the connection stays, nothing is stored', () => {
  let alice: AuthResult;
  let bob: AuthResult;
  let mallory: AuthResult;
  let conversation: Conversation;
  let socket: ChatClient;
  let rec: Recorder;

  beforeAll(async () => {
    [alice, bob, mallory] = await Promise.all([
      registerUser(gw[0], 'eA'),
      registerUser(gw[0], 'eB'),
      registerUser(gw[1], 'eM'),
    ]);
    conversation = await conversationBetween(alice, bob);
    socket = await open(gw[1], mallory);
    rec = new Recorder(socket);
  });

  const cases = () => {
    const send = (over: object) => ({
      sender_id: mallory.user.id,
      conversation_id: conversation.id,
      message_type: 'text',
      content: 'hi',
      ...over,
    });
    return [
      [
        'send-message',
        { conversation_id: 1, message_type: 'text', content: 'x' },
        'sender_id should not be empty, sender_id must be an integer number',
      ],
      ['send-message', send({ sender_id: String(1) }), 'sender_id must be an integer number'],
      ['send-message', send({ conversation_id: 99_999_999 }), 'Conversation not found'],
      ['send-message', send({}), 'Unauthorized'], // not a participant
      ['send-message', send({ sender_id: alice.user.id }), 'Unauthorized'], // someone else's sender_id
      [
        'send-message',
        send({ content: 'x'.repeat(4001) }),
        'content must be shorter than or equal to 4000 characters',
      ],
      ['send-message', send({ extra: 1 }), 'property extra should not exist'],
      ['send-message', 'just a string', 'payload must be an object'],
      [
        'join-conversation',
        { conversationId: 99_999_999, userId: mallory.user.id },
        'Conversation not found',
      ],
      [
        'join-conversation',
        { conversationId: conversation.id, userId: mallory.user.id },
        'Unauthorized to join this conversation',
      ],
      ['join-conversation', { conversationId: conversation.id, userId: alice.user.id }, 'Unauthorized'],
      [
        'typing',
        { conversationId: conversation.id, userId: mallory.user.id, isTyping: true },
        'Unauthorized',
      ],
      [
        'typing',
        { conversationId: conversation.id, userId: mallory.user.id, isTyping: 'yes' },
        'isTyping must be a boolean value',
      ],
      ['mark-read', { conversationId: conversation.id }, 'Unauthorized'],
      ['mark-read', { conversationId: 99_999_999 }, 'Conversation not found'],
      ['leave-conversation', { conversationId: 'x' }, 'conversationId must be an integer number'],
    ] as const;
  };

  it('answers each bad request in the ack and as message-error / error', async () => {
    const before = await messageCount();
    for (const [event, payload, error] of cases()) {
      rec.clear();
      const ack = await request<{ success: boolean; error: string }>(socket, event, payload);
      expect({ event, payload, ack }).toEqual({ event, payload, ack: { success: false, error } });
      if (event === 'send-message') {
        const [evt] = await rec.wait<{ error: string }>('message-error');
        expect(evt!.error).toBe(error);
      } else {
        expect((await rec.wait<{ message: string }>('error'))[0]).toEqual({ message: error });
      }
    }
    // Without a callback the events alone carry the error (seed clients).
    rec.clear();
    socket.emit('send-message', {
      sender_id: mallory.user.id,
      conversation_id: conversation.id,
      message_type: 'text',
      content: 'x',
      client_message_id: 'k1',
    });
    expect((await rec.wait('message-error'))[0]).toEqual({ error: 'Unauthorized', client_message_id: 'k1' });
    expect(socket.connected).toBe(true);
    expect(await messageCount()).toBe(before);
  });

  it('survives 1,000 random malformed payloads and then serves a fresh user’s full flow', async () => {
    const before = await messageCount();
    const events = ['send-message', 'join-conversation', 'leave-conversation', 'typing', 'mark-read'];
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const values: unknown[] = [
      null,
      0,
      -1,
      1.5,
      2 ** 60,
      'x',
      '',
      '1',
      true,
      [],
      [1, 2],
      {},
      'x'.repeat(10_000),
      { nested: { deep: [1] } },
    ];
    const fields = [
      'sender_id',
      'conversation_id',
      'message_type',
      'content',
      'client_message_id',
      'conversationId',
      'userId',
      'since_seq',
      'isTyping',
      'seq',
      '__proto__',
      'constructor',
      'zzz',
    ];
    const payload = (): unknown => {
      const shape = rand();
      if (shape < 0.15) return pick(values);
      const obj: Record<string, unknown> = {};
      const n = Math.floor(rand() * 6);
      for (let i = 0; i < n; i++) {
        const field = pick(fields);
        const value = rand() < 0.3 ? mallory.user.id : pick(values);
        // An own "__proto__" key, as JSON.parse makes it (plain assignment would set the prototype instead).
        Object.defineProperty(obj, field, { value, enumerable: true, configurable: true, writable: true });
      }
      return obj;
    };
    const acks = await Promise.all(
      Array.from({ length: 1000 }, () =>
        request<{ success: boolean }>(socket, pick(events), payload(), 20_000),
      ),
    );
    expect(acks.every((a) => typeof a === 'object' && a !== null && 'success' in a)).toBe(true);
    expect(socket.connected).toBe(true);
    expect(await messageCount()).toBe(before);

    const [x, y] = await Promise.all([registerUser(gw[1], 'fresh'), registerUser(gw[0], 'fresh')]);
    const c = await conversationBetween(x, y);
    const sx = await open(gw[1], x);
    const sy = await open(gw[0], y);
    const ry = new Recorder(sy);
    await request(sy, 'join-conversation', { conversationId: c.id, userId: y.user.id });
    const ack = await request<{ success: boolean }>(sx, 'send-message', {
      sender_id: x.user.id,
      conversation_id: c.id,
      message_type: 'text',
      content: 'still here',
    });
    expect(ack.success).toBe(true);
    expect((await ry.wait<Message>('receive-message'))[0]!.content).toBe('still here');
  });

  it('closes only the offending connection for a frame over 1 MB', async () => {
    const big = openSocket(gw[0], { token: mallory.tokens.access });
    await waitFor('connection', () => big.connected);
    const disconnected = new Promise<string>((resolve) => big.on('disconnect', resolve));
    big.emit('typing', {
      conversationId: 1,
      userId: mallory.user.id,
      isTyping: true,
      pad: 'x'.repeat(1_100_000),
    } as never);
    expect(await disconnected).toBe('transport close');
    expect(socket.connected).toBe(true);
    expect(await request(socket, 'leave-conversation', { conversationId: 1 })).toEqual({
      success: true,
      conversationId: 1,
    });
  });
});
