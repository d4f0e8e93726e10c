import type { AuthResult, Conversation, Message } from '@parley/contracts/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, Cluster, registerUser, shortLivedAccess, sleep, TcpProxy, waitFor } from '@parley/testing';
// Relative until tsconfig.json maps @parley/client.
import {
  ParleyApiError,
  ParleyAuth,
  ParleyClient,
  ParleyRest,
  ParleySendError,
  type ParleyClientOptions,
} from '../../libs/client/src/index.js';

// The SDK against real gateways (2), a real chats service, Postgres and Redis. Rate limits are raised so that the
// bulk tests measure delivery, not the limiter.
let cluster: Cluster;
let gw: [string, string];
const clients: ParleyClient[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 1,
    gatewayEnv: { RATE_LIMIT_MESSAGES_PER_SECOND: '100000', RATE_LIMIT_MESSAGES_BURST: '100000' },
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of proxies) await p.stop();
  await cluster?.stop();
});

function open(user: AuthResult, url: string, options: Partial<ParleyClientOptions> = {}): ParleyClient {
  const client = new ParleyClient({
    url,
    getToken: () => user.tokens.access,
    reconnect: { initialDelayMs: 200, maxDelayMs: 1_000 },
    ...options,
  });
  clients.push(client);
  return client;
}

function record(client: ParleyClient): Message[] {
  const messages: Message[] = [];
  client.on('message', (m) => messages.push(m));
  return messages;
}

async function conversationOf(a: AuthResult, b: AuthResult): Promise<Conversation> {
  return new ParleyRest({ baseUrl: gw[0], getToken: () => a.tokens.access }).createConversation(b.user.id);
}

/** Every seq from 1 to n, once, in order. */
const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('ParleyAuth and ParleyRest against the gateway', () => {
  it('registers, logs in, refreshes (rotating), looks users up, creates and lists conversations, pages history', async () => {
    const name = `sdk${Date.now().toString(36)}`;
    const auth = new ParleyAuth({ baseUrl: gw[0] });
    const { user } = await auth.register(name, 'correct horse battery', 'SDK user');
    expect(user).toMatchObject({ username: name, display_name: 'SDK user' });
    expect(auth.userId).toBe(user.id);
    const other = await registerUser(gw[1], 'peer');

    const again = new ParleyAuth({ baseUrl: gw[1] });
    await again.login(name.toUpperCase(), 'correct horse battery'); // usernames are case-insensitive
    const firstRefresh = again.tokens!.refresh;
    await again.getToken({ forceRefresh: true });
    expect(again.tokens!.refresh).not.toBe(firstRefresh);
    // The token just replaced still gets the current one for a moment (a second tab refreshing at once)…
    const secondTab = await again.rest.refresh(firstRefresh);
    expect(jtiOf(secondTab.tokens.refresh)).toBe(jtiOf(again.tokens!.refresh));
    // …and logging out ends the session: its refresh tokens are refused from then on.
    await again.logout();
    expect(again.loggedIn).toBe(false);
    await expect(again.rest.refresh(secondTab.tokens.refresh)).rejects.toMatchObject({ status: 401 });

    const rest = new ParleyRest({ baseUrl: gw[1], getToken: auth.getToken });
    expect((await rest.me()).id).toBe(user.id);
    expect((await rest.findUser(other.user.username.toUpperCase())).id).toBe(other.user.id);
    await expect(rest.findUser('nobody-by-that-name')).rejects.toBeInstanceOf(ParleyApiError);
    const conversation = await rest.createConversation(other.user.id);
    expect(await rest.createConversation(other.user.id)).toMatchObject({ id: conversation.id });

    for (let i = 1; i <= 25; i++)
      await rest.sendMessage(conversation.id, { message_type: 'text', content: `m${i}` });
    const list = await rest.conversations({ limit: 10 });
    expect(list.conversations[0]).toMatchObject({ id: conversation.id, last_seq: 25, unread_count: 0 });
    const newest = await rest.messages(conversation.id, { page: 1, limit: 10 });
    expect(newest.messages.map((m) => m.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    const older = await rest.messages(conversation.id, { before_seq: 16, limit: 10 });
    expect(older.messages.map((m) => m.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(older.has_more).toBe(true);
    expect((await rest.markRead(conversation.id)).seq).toBe(25);
  });
});

describe('ParleyClient against two gateways', () => {
  it('two users on different gateways: presence, typing, messages once and in order, unread counts, read marks', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'alice'), registerUser(gw[1], 'bob')]);
    const conversation = await conversationOf(alice, bob);
    const a = open(alice, gw[0], { typing: { idleMs: 500 } });
    const b = open(bob, gw[1]);
    const [am, bm] = [record(a), record(b)];
    const typing: boolean[] = [];
    b.on('typing', (e) => e.userId === alice.user.id && typing.push(e.isTyping));
    const unread: number[] = [];
    b.on('unread', (e) => e.conversationId === conversation.id && unread.push(e.count));

    await a.connect();
    await b.connect();
    await waitFor('alice sees bob online', () => a.isOnline(bob.user.id)); // the live event
    await waitFor('bob sees alice online', () => b.isOnline(alice.user.id)); // the snapshot on connect
    b.trackConversations([conversation]);
    await Promise.all([a.join(conversation.id), b.join(conversation.id)]);

    a.typing(conversation.id);
    await waitFor('bob sees alice typing', () => b.typingUsers(conversation.id).includes(alice.user.id));
    await waitFor(
      'the typing stops by itself',
      () => !b.typingUsers(conversation.id).includes(alice.user.id),
    );
    expect(typing).toEqual([true, false]);

    const sent = [];
    for (let i = 1; i <= 5; i++) sent.push(await a.send(conversation.id, `hello ${i}`));
    expect(sent.map((m) => m.seq)).toEqual(oneToN(5));
    await waitFor('bob has the 5', () => bm.length === 5);
    expect(bm).toEqual(sent);
    expect(am).toEqual(sent); // her own, once each (ack + message-sent)
    await waitFor('bob has 5 unread', () => b.unreadCount(conversation.id) === 5);

    await b.markRead(conversation.id);
    expect(b.unreadCount(conversation.id)).toBe(0);
    await waitFor('alice sees bob read up to 5', () => a.readMark(conversation.id, bob.user.id) === 5);
    expect(unread).toEqual([0, 1, 2, 3, 4, 5, 0]);

    const reply = await b.send(conversation.id, 'hi alice');
    await waitFor('alice gets the reply', () => am.length === 6);
    expect(am[5]).toEqual(reply);
    expect(a.readMark(conversation.id, bob.user.id)).toBe(6); // sending moves the sender's mark
    await waitFor('alice has 1 unread', () => a.unreadCount(conversation.id) === 1);

    b.close();
    await waitFor('alice sees bob go offline', () => !a.isOnline(bob.user.id));
  });

  it('two senders at once, on two gateways: both sides see every message once, in seq order', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'conA'), registerUser(gw[1], 'conB')]);
    const conversation = await conversationOf(alice, bob);
    const a = open(alice, gw[0]);
    const b = open(bob, gw[1]);
    const [am, bm] = [record(a), record(b)];
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all([a.join(conversation.id), b.join(conversation.id)]);
    await Promise.all([
      ...Array.from({ length: 40 }, (_, i) => a.send(conversation.id, `a${i}`)),
      ...Array.from({ length: 40 }, (_, i) => b.send(conversation.id, `b${i}`)),
    ]);
    await waitFor('80 on both sides', () => am.length >= 80 && bm.length >= 80);
    expect(am.map((m) => m.seq)).toEqual(oneToN(80));
    expect(bm.map((m) => m.id)).toEqual(am.map((m) => m.id));
    // each sender's own messages in the order it sent them
    expect(am.filter((m) => m.sender_id === alice.user.id).map((m) => m.content)).toEqual(
      Array.from({ length: 40 }, (_, i) => `a${i}`),
    );
  });

  it('a refused (forged) token is refreshed through ParleyAuth and the client connects', async () => {
    const name = `tok${Date.now().toString(36)}`;
    const auth = new ParleyAuth({ baseUrl: gw[0] });
    await auth.register(name, 'correct horse battery');
    const good = auth.tokens!;
    // as if the stored access token had been issued by another deployment: the gateway refuses it
    const forged = `${good.access.split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}`;
    const stale = new ParleyAuth({ baseUrl: gw[0], tokens: { access: forged, refresh: good.refresh } });
    const tokens: string[] = [];
    const client = open({ user: { id: auth.userId! } } as AuthResult, gw[1], {
      getToken: async (o) => {
        const t = await stale.getToken(o);
        tokens.push(t);
        return t;
      },
    });
    await client.connect();
    expect(tokens[0]).toBe(forged);
    expect(tokens).toHaveLength(2);
    expect(tokens[1]).not.toBe(forged);
    expect(client.connected).toBe(true);
  });

  it('refuses what the server refuses: a send to a conversation of others rejects with its error', async () => {
    const [alice, bob, carol] = await Promise.all([
      registerUser(gw[0], 'refA'),
      registerUser(gw[0], 'refB'),
      registerUser(gw[0], 'refC'),
    ]);
    const theirs = await conversationOf(bob, carol);
    const a = open(alice, gw[0]);
    await a.connect();
    const error = await a.send(theirs.id, 'let me in').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleySendError);
    expect((error as Error).message).toBe('Unauthorized');
    await expect(a.join(theirs.id)).rejects.toThrow('Unauthorized to join this conversation');
  });

  it('after a long disconnection, catches up on more than a catch-up holds (100) over REST: once each, in order', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'longA'), registerUser(gw[1], 'longB')]);
    const conversation = await conversationOf(alice, bob);
    // bob reaches gateway 1 through a TCP proxy that the test cuts, as if his network went away
    const proxy = await new TcpProxy('127.0.0.1', cluster.gateways[1]!.port).start();
    proxies.push(proxy);
    const b = open(bob, `http://127.0.0.1:${proxy.port}`);
    const bm = record(b);
    await b.connect();
    await b.join(conversation.id);
    const rest = new ParleyRest({ baseUrl: gw[0], getToken: () => alice.tokens.access });
    await rest.sendMessage(conversation.id, { message_type: 'text', content: 'before' });
    await waitFor('bob gets the first', () => bm.length === 1);

    proxy.cut();
    await waitFor('bob is disconnected', () => !b.connected);
    const a = open(alice, gw[0]);
    await a.connect();
    await Promise.all(Array.from({ length: 150 }, (_, i) => a.send(conversation.id, `while away ${i}`)));
    proxy.restore();
    await waitFor('bob has all 151', () => bm.length >= 151, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(bm.map((m) => m.seq)).toEqual(oneToN(151));
    const stored = await api<{ messages: Message[] }>(
      gw[1],
      'GET',
      `/api/chats/conversations/${conversation.id}/messages?after_seq=0&limit=100`,
      { token: bob.tokens.access },
    );
    // (History pages carry the caller's `my_reactions`; live messages do not.)
    const withoutMine = (list: Message[]) => list.map(({ my_reactions: _, ...m }) => m);
    expect(withoutMine(bm.slice(0, 100))).toEqual(withoutMine(stored.body.messages));
  });
});

function jtiOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
}

describe('ParleyClient and sessions', () => {
  it('re-authenticates its socket before each token expires, so the connection outlives them', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'reA'), registerUser(gw[1], 'reB')]);
    const conversation = await conversationOf(alice, bob);
    // Access tokens of alice's session that live 3 s each (the server closes a socket at its token's exp).
    const a = open(alice, gw[0], { getToken: () => shortLivedAccess(alice.tokens.access, 3) });
    const states: string[] = [];
    a.on('state', ({ state }) => states.push(state));
    const b = open(bob, gw[1]);
    const received = record(b);
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all([a.join(conversation.id), b.join(conversation.id)]);
    states.length = 0;
    await sleep(7500); // more than two of those tokens' lives
    expect(states).toEqual([]); // connected once, never dropped
    await a.send(conversation.id, 'still the same socket');
    await waitFor('bob to receive it', () => received.length === 1);
    expect(received[0]!.content).toBe('still the same socket');
  });

  it('closes with "Session ended" when its session is logged out (here: through ParleyAuth)', async () => {
    const user = await registerUser(gw[0], 'outA');
    const auth = new ParleyAuth({ baseUrl: gw[1] });
    await auth.login(user.user.username, 'correct horse battery');
    const client = open(user, gw[0], { getToken: auth.getToken });
    const closed = new Promise<string | undefined>((resolve) =>
      client.on('state', (change) => change.state === 'closed' && resolve(change.error)),
    );
    await client.connect();
    expect(await auth.logout()).toBe(true);
    expect(await closed).toBe('Session ended');
    expect(auth.loggedIn).toBe(false);
  });
});
