import type { AuthResult, Conversation, Message } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  PrivateNginx,
  conversationBetween,
  registerUser,
  sleep,
  waitFor,
} from '@parley/testing';
import { ChatClient, login, refreshToken } from './clients/seed004-client.js';
import { browserGlobals, Frames, joinedSocketIo, sendSocketIo } from './support.js';

// Seed 004's clients (its own vanilla JavaScript ChatClient, transcribed) on 2 gateways + 2 chats services, in
// conversations with seed 003's Socket.IO clients on the other gateway. The bare paths (/ws/chat/<id>/) are
// seed 004's here (COMPAT_BARE_PATHS=004), as the seed's code builds them from window.location.
let cluster: Cluster;

interface SeedMessage {
  id: number;
  senderId: number;
  receiverId?: number;
  content: string;
  timestamp: string;
  isRead: boolean;
  isPrevious: boolean;
}

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 2,
    gatewayEnv: {
      COMPAT_BARE_PATHS: '004',
      RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
      RATE_LIMIT_MESSAGES_BURST: '100000',
      RATE_LIMIT_CONVERSATIONS_BURST: '1000',
      RATE_LIMIT_JOINS_BURST: '1000',
      RATE_LIMIT_HISTORY_BURST: '1000',
    },
  });
});
afterAll(async () => {
  await cluster?.stop();
});

/** Seed 004's ChatClient for `me`, chatting with `peer`, through gateway `gateway`; resolves once connected. */
async function seedClient(me: AuthResult, peer: AuthResult, gateway: number) {
  browserGlobals(cluster.gatewayUrl(gateway));
  const chat = new ChatClient(peer.user.id, me.tokens.access, me.user.id);
  const received: SeedMessage[] = [];
  const status: boolean[] = [];
  chat.onMessage((m: SeedMessage) => received.push(m));
  chat.onStatusChange((s: boolean) => status.push(s));
  chat.connect();
  await waitFor('the seed client to connect', () => status.includes(true) || status.includes(false));
  expect(chat.isConnected).toBe(true);
  return { chat, received, status };
}

function wsUrl(gateway: number, path: string): string {
  return cluster.gatewayUrl(gateway).replace(/^http/, 'ws') + path;
}

describe('seed 004: the chat socket keyed by the peer user id', () => {
  it('pushes the previous messages on connect in the seed shape, with is_read from the receiver read mark', async () => {
    const [a, b] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's4a'),
      registerUser(cluster.gatewayUrl(1), 's4b'),
    ]);
    const conversation = await conversationBetween(cluster.gatewayUrl(1), b, a);
    const bSocket = await joinedSocketIo(cluster.gatewayUrl(1), b, conversation);
    for (const text of ['one', 'two', 'three']) await sendSocketIo(bSocket, b, conversation, text);
    // a has read up to the second one.
    const read = await api(
      cluster.gatewayUrl(0),
      'POST',
      `/api/chats/conversations/${conversation.id}/read`,
      {
        token: a.tokens.access,
        body: { seq: 2 },
      },
    );
    expect(read.status).toBeLessThan(300);

    const { chat, received } = await seedClient(a, b, 0);
    await waitFor('3 previous messages', () => received.length >= 3);
    expect(received.map((m) => [m.content, m.senderId, m.receiverId, m.isRead, m.isPrevious])).toEqual([
      ['one', b.user.id, a.user.id, true, true],
      ['two', b.user.id, a.user.id, true, true],
      ['three', b.user.id, a.user.id, false, true],
    ]);
    for (const m of received) expect(Date.parse(m.timestamp)).toBeGreaterThan(0);
    chat.disconnect();
    bSocket.socket.close();
  });

  it('creates the direct conversation on first use, and a new message reaches both sides once, in order, both ways', async () => {
    const [a, b] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's4c'),
      registerUser(cluster.gatewayUrl(1), 's4d'),
    ]);
    // No conversation yet: the seed client's connection creates it.
    const { chat, received } = await seedClient(a, b, 0);
    const list = await waitFor('the conversation to exist', async () => {
      const res = await api<{ conversations: Conversation[] }>(
        cluster.gatewayUrl(1),
        'GET',
        '/api/chats/conversations',
        {
          token: b.tokens.access,
        },
      );
      return res.body.conversations.length === 1 ? res.body.conversations : undefined;
    });
    const conversation = list[0]!;
    expect([conversation.sender_id, conversation.receiver_id].sort()).toEqual([a.user.id, b.user.id].sort());
    const bSocket = await joinedSocketIo(cluster.gatewayUrl(1), b, conversation);

    const n = 20;
    for (let i = 0; i < n; i++) {
      expect(chat.sendMessage(`from-ws ${i}`)).toBe(true);
      await sendSocketIo(bSocket, b, conversation, `from-sio ${i}`);
    }
    // The seed client gets every message as a new one (its own too: the seed shows its messages from the echo).
    await waitFor(`${2 * n} messages on the seed client`, () => received.length >= 2 * n);
    await sleep(200); // nothing more arrives
    expect(received).toHaveLength(2 * n);
    expect(received.every((m) => !m.isPrevious)).toBe(true);
    const fromWs = received.filter((m) => m.senderId === a.user.id).map((m) => m.content);
    const fromSio = received.filter((m) => m.senderId === b.user.id).map((m) => m.content);
    expect(fromWs).toEqual(Array.from({ length: n }, (_, i) => `from-ws ${i}`));
    expect(fromSio).toEqual(Array.from({ length: n }, (_, i) => `from-sio ${i}`));

    // The Socket.IO side gets the seed client's messages once each, in order, with gapless seqs.
    const got = await bSocket.wait<Message>('receive-message', n);
    await sleep(200);
    expect(bSocket.of<Message>('receive-message').map((m) => m.content)).toEqual(fromWs);
    // Stored once each: the history has 2n messages, seq 1..2n.
    const history = await api<{ messages: Message[] }>(
      cluster.gatewayUrl(1),
      'GET',
      `/api/chats/conversations/${conversation.id}/messages?limit=100`,
      { token: b.tokens.access },
    );
    const seqs = history.body.messages.map((m) => m.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 2 * n }, (_, i) => i + 1));
    expect(got.every((m) => m.sender_id === a.user.id)).toBe(true);
    chat.disconnect();
    bSocket.socket.close();
  });

  it("follows the seed's Quick Start: login by e-mail, connect with the token, refresh it at /api/auth/token/refresh/", async () => {
    const email = `Quick.${Date.now()}@Example.com`;
    const reg = await api<AuthResult>(cluster.gatewayUrl(1), 'POST', '/api/auth/register', {
      body: { username: `qs${Date.now().toString(36)}`, password: 'correct horse battery', email },
    });
    expect(reg.status).toBe(201);
    const taken = await api(cluster.gatewayUrl(0), 'POST', '/api/auth/register', {
      body: {
        username: `qt${Date.now().toString(36)}`,
        password: 'correct horse battery',
        email: email.toUpperCase(),
      },
    });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ message: 'E-mail is already registered' });
    const peer = await registerUser(cluster.gatewayUrl(1), 's4q');

    browserGlobals(cluster.gatewayUrl(0));
    const tokens = await login(email.toLowerCase(), 'correct horse battery');
    expect(typeof tokens.access).toBe('string');
    const me: AuthResult = { user: reg.body.user, tokens };
    const { chat, received } = await seedClient(me, peer, 0);
    chat.sendMessage('hi after login');
    await waitFor('the echo', () => received.some((m) => m.content === 'hi after login'));
    chat.disconnect();

    browserGlobals(cluster.gatewayUrl(1));
    const access = await refreshToken(tokens.refresh);
    expect(typeof access).toBe('string');
    const again = await seedClient({ ...me, tokens: { access, refresh: '' } }, peer, 1);
    await waitFor('the previous message', () =>
      again.received.some((m) => m.isPrevious && m.content === 'hi after login'),
    );
    again.chat.disconnect();

    // The seed's errors, in Django REST Framework's shapes.
    const base = cluster.gatewayUrl(0);
    const wrong = await api(base, 'POST', '/api/auth/login/', {
      body: { email, password: 'wrong password!' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ detail: 'No active account found with the given credentials' });
    const missing = await api(base, 'POST', '/api/auth/login/', { body: { password: 'x' } });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ email: ['This field is required.'] });
    // (Replaying the used refresh token within JWT_REFRESH_REUSE_GRACE_SECONDS gets the current one: two tabs.)
    const garbage = await api(base, 'POST', '/api/auth/token/refresh/', { body: { refresh: 'not-a-token' } });
    expect(garbage.status).toBe(401);
    expect(garbage.body).toEqual({ detail: 'Token is invalid or expired', code: 'token_not_valid' });
    // Mounted at /compat/004 as well; Parley's own /api/auth/login (no slash) is unchanged.
    const mounted = await api(base, 'POST', '/compat/004/api/auth/login/', {
      body: { email, password: 'correct horse battery' },
    });
    expect(mounted.status).toBe(200);
    expect(mounted.body).toMatchObject({
      user: { id: reg.body.user.id },
      tokens: { access: expect.any(String) },
    });
  });

  it.skipIf(!PrivateNginx.available())(
    "through the project's nginx (deploy/nginx/nginx.conf): both gateways behind it, the token kept out of its log",
    async () => {
      const nginx = await new PrivateNginx().start(cluster.gateways.map((g) => g.url));
      try {
        const [a, b] = await Promise.all([registerUser(nginx.url, 's4n'), registerUser(nginx.url, 's4o')]);
        browserGlobals(nginx.url);
        const chats = [
          new ChatClient(b.user.id, a.tokens.access, a.user.id),
          new ChatClient(a.user.id, b.tokens.access, b.user.id),
        ];
        const received: SeedMessage[][] = [[], []];
        chats.forEach((c, i) => c.onMessage((m: SeedMessage) => received[i]!.push(m)));
        for (const c of chats) c.connect();
        await waitFor('both through nginx', () => chats.every((c) => c.isConnected));
        chats[0]!.sendMessage('via nginx');
        await waitFor('the message on both sides', () =>
          received.every((r) => r.some((m) => m.content === 'via nginx')),
        );
        // The mounted path too.
        const mounted = new Frames(
          `${nginx.url.replace(/^http/, 'ws')}/compat/004/ws/chat/${b.user.id}/?token=${a.tokens.access}`,
        );
        await mounted.wait('the previous message', (f) => f.content === 'via nginx');
        mounted.close();
        for (const c of chats) c.disconnect();
        // A WebSocket's line is written when it closes.
        await waitFor('the access log lines', () => nginx.accessLog().includes('/ws/chat/'));
        expect(nginx.accessLog()).not.toContain(a.tokens.access);
      } finally {
        await nginx.stop();
      }
    },
  );

  it('counts the seed client in presence: its user comes online and goes offline', async () => {
    const [a, b] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's4e'),
      registerUser(cluster.gatewayUrl(1), 's4f'),
    ]);
    const conversation = await conversationBetween(cluster.gatewayUrl(1), b, a);
    const bSocket = await joinedSocketIo(cluster.gatewayUrl(1), b, conversation);
    const { chat } = await seedClient(a, b, 0);
    await bSocket.wait<{ userId: number }>('user:online');
    expect(bSocket.of<{ userId: number }>('user:online').map((e) => e.userId)).toContain(a.user.id);
    chat.disconnect();
    const offline = await bSocket.wait<{ userId: number }>('user:offline');
    expect(offline.map((e) => e.userId)).toContain(a.user.id);
    bSocket.socket.close();
  });

  it('refuses a bad token with 401, and closes on an unknown peer (4404) or oneself (4403)', async () => {
    const [a, b] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's4g'),
      registerUser(cluster.gatewayUrl(1), 's4h'),
    ]);
    const noToken = new Frames(wsUrl(0, `/ws/chat/${b.user.id}/`));
    await noToken.waitClosed();
    expect(noToken.refused).toBe(401);
    const badToken = new Frames(wsUrl(1, `/ws/chat/${b.user.id}/?token=${a.tokens.access}x`));
    await badToken.waitClosed();
    expect(badToken.refused).toBe(401);

    const unknown = new Frames(wsUrl(0, `/ws/chat/999999999/?token=${a.tokens.access}`));
    expect((await unknown.waitClosed()).code).toBe(4404);
    expect(unknown.frames).toEqual([{ error: 'User not found' }]);
    const self = new Frames(wsUrl(0, `/ws/chat/${a.user.id}/?token=${a.tokens.access}`));
    expect((await self.waitClosed()).code).toBe(4403);
    expect(self.frames).toEqual([{ error: 'Cannot start a conversation with yourself' }]);
    // Not an id: not one of the seed's paths at all (Engine.IO ends the upgrade).
    const notAnId = new Frames(wsUrl(0, `/ws/chat/abc/?token=${a.tokens.access}`));
    await notAnId.waitClosed();
  });

  it('answers bad frames with an error and stays open; a frame over the limit closes it (1009); nothing is stored', async () => {
    const [a, b] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's4i'),
      registerUser(cluster.gatewayUrl(1), 's4j'),
    ]);
    const ws = new Frames(wsUrl(1, `/ws/chat/${b.user.id}/?token=${a.tokens.access}`));
    await ws.opened;
    ws.send('{not json');
    ws.send({ text: 'wrong field' });
    ws.send({ message: '' });
    ws.send({ message: 42 });
    ws.send({ message: 'x'.repeat(4001) });
    ws.send({ message: 'bad \u0000 text' });
    ws.send([1, 2, 3]);
    ws.send({ message: 'the good one' });
    await ws.wait('an echo', (f) => f.message === 'the good one');
    expect(ws.where((f) => 'error' in f).map((f) => f.error)).toEqual([
      'Invalid JSON format',
      'message is required',
      'message should not be empty',
      'message must be a string',
      'message must be shorter than or equal to 4000 characters',
      'message must be valid text (no NUL characters or unpaired surrogates)',
      'message is required',
    ]);
    expect(ws.closed).toBeUndefined();
    ws.send('x'.repeat(200_000));
    expect((await ws.waitClosed()).code).toBe(1009);
    const conversation = await conversationBetween(cluster.gatewayUrl(0), a, b);
    const history = await api<{ messages: Message[] }>(
      cluster.gatewayUrl(0),
      'GET',
      `/api/chats/conversations/${conversation.id}/messages`,
      { token: a.tokens.access },
    );
    expect(history.body.messages.map((m) => m.content)).toEqual(['the good one']);
  });

  it('closes the connection when its session ends (logout on another gateway)', async () => {
    const [a, b] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's4k'),
      registerUser(cluster.gatewayUrl(1), 's4l'),
    ]);
    const ws = new Frames(wsUrl(0, `/ws/chat/${b.user.id}/?token=${a.tokens.access}`));
    await ws.opened;
    const out = await api(cluster.gatewayUrl(1), 'POST', '/api/auth/logout', { token: a.tokens.access });
    expect(out.status).toBeLessThan(300);
    const closed = await ws.waitClosed();
    expect(closed.code).toBe(4401);
    expect(ws.frames).toContainEqual({ error: 'Session ended' });
  });
});
