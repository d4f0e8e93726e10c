import { createServer } from 'node:net';
import { ErrorMessages, type Message } from '@parley/contracts/wire';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeJwt, ScriptedGateway } from '../test/scripted-gateway.js';
import { ParleyAuth } from './auth.js';
import { ParleyClient, ParleySendError, type ParleyClientOptions, type StateChange } from './client.js';
import { ParleyRest, type GetToken } from './rest.js';
import { tokenExpiresAt } from './util.js';

// The SDK against a real Socket.IO server (ScriptedGateway) that misbehaves on purpose. The same SDK runs against
// real gateway processes in test/client/.

let gw: ScriptedGateway;
const clients: ParleyClient[] = [];

beforeEach(async () => {
  gw = await new ScriptedGateway().start();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await gw.stop();
});

function client(userId: number, options: Partial<ParleyClientOptions> = {}): ParleyClient {
  const c = new ParleyClient({
    url: gw.url,
    userId,
    getToken: () => `t-${userId}`,
    reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
    ackTimeoutMs: 500,
    gapTimeoutMs: 300,
    ...options,
  });
  clients.push(c);
  return c;
}

/** Everything a client delivers as `message` events. */
function record(c: ParleyClient): Message[] {
  const messages: Message[] = [];
  c.on('message', (m) => messages.push(m));
  return messages;
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const seqs = (messages: Message[]) => messages.map((m) => m.seq);

/** A port where nothing listens. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe('ParleyClient: connection', () => {
  it('refreshes the token after an Unauthorized handshake and connects with the new one', async () => {
    const calls: Array<boolean | undefined> = [];
    const c = client(1, {
      getToken: (o) => {
        calls.push(o?.forceRefresh);
        return o?.forceRefresh ? 't-1' : 'expired';
      },
    });
    await c.connect();
    expect(gw.handshakes).toEqual(['expired', 't-1']);
    expect(calls).toEqual([false, true]);
    expect(c.state).toBe('connected');
  });

  it('moves on to the next gateway of `urls` when one cannot be reached', async () => {
    const states: StateChange[] = [];
    const c = client(1, { url: undefined, urls: [await deadUrl(), gw.url] });
    c.on('state', (s) => states.push(s));
    await c.connect();
    expect(c.url).toBe(gw.url);
    const waits = states.filter((s) => s.delayMs !== undefined);
    expect(waits).toHaveLength(1);
    expect(waits[0]!.delayMs).toBeGreaterThanOrEqual(25);
    expect(waits[0]!.delayMs).toBeLessThanOrEqual(50);
  });

  it('backs off exponentially (with jitter) while the gateway refuses, then closes when no token can be had', async () => {
    let refusals = 0;
    const states: StateChange[] = [];
    const c = client(1, {
      random: () => 0, // the top of each jitter window
      getToken: () => {
        if (++refusals > 5) throw Object.assign(new Error('refresh refused'), { status: 500 });
        return 'expired';
      },
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    c.on('state', (s) => states.push(s));
    void c.connect().catch(() => undefined);
    await until('6 waits', () => states.filter((s) => s.delayMs !== undefined).length >= 6);
    expect(states.filter((s) => s.delayMs !== undefined).map((s) => s.delayMs)).toEqual([
      20, 40, 80, 100, 100, 100,
    ]);
    c.close();
  });

  it('closes (and rejects connect) when the token source says 401: the user must log in again', async () => {
    const { ParleyApiError } = await import('./rest.js');
    const c = client(1, {
      getToken: () => {
        throw new ParleyApiError(401, 'Invalid refresh token');
      },
    });
    await expect(c.connect()).rejects.toThrow(/Unauthorized/);
    expect(c.state).toBe('closed');
  });

  it('clears presence on a disconnect and rebuilds it from the events after the reconnect', async () => {
    const c = client(1);
    const presence: Array<[number, boolean]> = [];
    c.on('presence', (e) => presence.push([e.userId, e.online]));
    await c.connect();
    gw.io.of('/chat').to('user:1').emit('user:online', { userId: 2 });
    gw.io.of('/chat').to('user:1').emit('user:online', { userId: 2 }); // state, not increments: no second event
    await until('online', () => c.isOnline(2));
    gw.dropConnections();
    await until('offline', () => !c.isOnline(2));
    await until('reconnected', () => c.connected);
    gw.io.of('/chat').to('user:1').emit('user:online', { userId: 2 });
    await until('online again', () => c.isOnline(2));
    expect(presence).toEqual([
      [2, true],
      [2, false],
      [2, true],
    ]);
  });
});

describe('ParleyClient: sending', () => {
  it('delivers its own message once although the ack and message-sent both carry it', async () => {
    const c = client(1);
    const messages = record(c);
    await c.connect();
    await c.join(5);
    const sent = await c.send(5, 'hello');
    await new Promise((r) => setTimeout(r, 50));
    expect(messages).toEqual([sent]);
  });

  it('retries an unacknowledged send with the same client_message_id: stored once, resolved once', async () => {
    const c = client(1, { ackTimeoutMs: 200 });
    const messages = record(c);
    await c.connect();
    await c.join(5);
    gw.dropSendAcks = 1;
    const sent = await c.send(5, 'once');
    expect(gw.sends).toHaveLength(2);
    expect(gw.sends[1]!.client_message_id).toBe(gw.sends[0]!.client_message_id);
    expect(gw.stored(5)).toHaveLength(1);
    expect(sent.client_message_id).toBe(gw.sends[0]!.client_message_id);
    expect(messages.map((m) => m.content)).toEqual(['once']);
  });

  it('queues sends while disconnected and sends them, in order, after the reconnect', async () => {
    const c = client(1, { reconnect: { initialDelayMs: 200, maxDelayMs: 200 } });
    const messages = record(c);
    await c.connect();
    await c.join(5);
    gw.dropConnections();
    await until('disconnected', () => !c.connected);
    const sends = ['a', 'b', 'c'].map((t) => c.send(5, t));
    expect(c.pending.map((p) => p.content)).toEqual(['a', 'b', 'c']);
    expect(gw.sends).toHaveLength(0);
    await Promise.all(sends);
    expect(gw.stored(5).map((m) => m.content)).toEqual(['a', 'b', 'c']);
    expect(messages.map((m) => m.content)).toEqual(['a', 'b', 'c']);
    expect(c.pending).toEqual([]);
  });

  it('rejects a send the server refuses (no retry), and keeps sending the next ones', async () => {
    const c = client(1);
    await c.connect();
    gw.failNextSend = 'Unauthorized';
    const refused = c.send(9, 'nope');
    const next = c.send(5, 'fine');
    await expect(refused).rejects.toBeInstanceOf(ParleySendError);
    await expect(refused).rejects.toThrow('Unauthorized');
    expect((await next).content).toBe('fine');
    expect(gw.sends).toHaveLength(2);
  });

  it('gives up after maxSendAttempts unanswered tries, and rejects queued sends on close()', async () => {
    const c = client(1, { ackTimeoutMs: 100, maxSendAttempts: 2 });
    await c.connect();
    gw.dropSendAcks = 10;
    await expect(c.send(5, 'lost')).rejects.toThrow('No acknowledgement');
    c.close();
    await expect(c.send(5, 'after close')).rejects.toThrow(/closed/);
  });
});

describe('ParleyClient: receiving', () => {
  it('re-joins with since_version after a reconnect and delivers what it missed once, in order, paging over REST', async () => {
    gw.catchUpMax = 2; // so that the catch-up says has_more and the rest comes over REST
    const c = client(2, { reconnect: { initialDelayMs: 300, maxDelayMs: 300 } });
    const messages = record(c);
    await c.connect();
    gw.store(5, 1, 'one');
    await c.join(5);
    gw.deliver(gw.store(5, 1, 'two'));
    await until('2 messages', () => messages.length === 2);
    gw.dropConnections();
    await until('disconnected', () => !c.connected);
    for (const t of ['three', 'four', 'five', 'six', 'seven']) gw.store(5, 1, t);
    await until('7 messages', () => messages.length === 7);
    expect(seqs(messages)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(gw.joins.map((j) => [j.since_seq, j.since_version])).toEqual([
      [undefined, undefined],
      [undefined, 2],
    ]);
    // the catch-up held versions 3 and 4; the rest came over REST, by version
    expect(gw.restCalls).toEqual(['GET /api/chats/conversations/5/messages?after_version=4&limit=100']);
    expect(c.version(5)).toBe(7);
  });

  it('joins with since_seq when told a seq only, pages on over REST by seq, and follows versions from then on', async () => {
    gw.catchUpMax = 2;
    const c = client(2);
    const messages = record(c);
    await c.connect();
    for (const t of ['one', 'two', 'three', 'four', 'five']) gw.store(5, 1, t);
    await c.join(5, { sinceSeq: 1 });
    await until('4 messages', () => messages.length === 4);
    expect(seqs(messages)).toEqual([2, 3, 4, 5]);
    expect(gw.joins).toEqual([{ conversationId: 5, userId: 2, since_seq: 1 }]);
    expect(gw.restCalls).toEqual(['GET /api/chats/conversations/5/messages?after_seq=3&limit=100']);
    await until('the version', () => c.version(5) === 5);
  });

  it('holds an out-of-order message until the one before it arrives (no REST when it comes in time)', async () => {
    gw.silentBroadcast = true;
    const c = client(2);
    const messages = record(c);
    await c.connect();
    await c.join(5);
    const [m1, m2, m3] = [gw.store(5, 1, 'a'), gw.store(5, 3, 'b'), gw.store(5, 1, 'c')];
    gw.deliver(m1);
    gw.deliver(m3);
    gw.deliver(m3);
    await new Promise((r) => setTimeout(r, 100));
    expect(seqs(messages)).toEqual([1]);
    gw.deliver(m2);
    await until('3 messages', () => messages.length === 3);
    expect(seqs(messages)).toEqual([1, 2, 3]);
    expect(gw.restCalls).toEqual([]);
  });

  it('fetches a gap that does not fill within gapTimeoutMs over REST (after_seq)', async () => {
    gw.silentBroadcast = true;
    const c = client(2, { gapTimeoutMs: 200 });
    const messages = record(c);
    await c.connect();
    await c.join(5);
    const stored = ['a', 'b', 'c', 'd'].map((t) => gw.store(5, 1, t));
    gw.deliver(stored[0]!);
    gw.deliver(stored[3]!); // 2 and 3 never come live
    await until('4 messages', () => messages.length === 4);
    expect(seqs(messages)).toEqual([1, 2, 3, 4]);
    expect(gw.restCalls).toEqual(['GET /api/chats/conversations/5/messages?after_seq=1&limit=100']);
  });

  it('surfaces a gap it cannot fetch (REST down) and goes on with the messages after it', async () => {
    gw.silentBroadcast = true;
    const rest = new ParleyRest({ baseUrl: await deadUrl(), getToken: () => 't-2' });
    const c = client(2, { gapTimeoutMs: 50, rest });
    const messages = record(c);
    const gaps: unknown[] = [];
    const errors: Error[] = [];
    c.on('gap', (g) => gaps.push(g));
    c.on('error', (e) => errors.push(e));
    await c.connect();
    await c.join(5);
    const stored = ['a', 'b', 'c'].map((t) => gw.store(5, 1, t));
    gw.deliver(stored[0]!);
    gw.deliver(stored[2]!);
    await until('the gap surfaced', () => gaps.length === 1, 10_000);
    expect(gaps).toEqual([{ conversationId: 5, from: 2, to: 2 }]);
    expect(seqs(messages)).toEqual([1, 3]);
    expect(errors.length).toBeGreaterThanOrEqual(3);
  });

  const DIRECT = {
    type: 'direct',
    title: null,
    member_count: 2,
    metadata: {},
    version: 0,
    my_role: 'member',
    muted: false,
    muted_until: null,
  } as const;

  it('keeps unread counts from conversation-updated, messages-read and its own mark-read', async () => {
    const c = client(2);
    const unread: number[] = [];
    c.on('unread', (e) => e.conversationId === 5 && unread.push(e.count));
    await c.connect();
    c.trackConversations([
      {
        id: 5,
        sender_id: 1,
        receiver_id: 2,
        created_at: '',
        last_seq: 3,
        last_message: null,
        unread_count: 3,
        ...DIRECT,
      },
    ]);
    expect(c.unreadCount(5)).toBe(3);
    const conversation = {
      id: 5,
      sender_id: 1,
      receiver_id: 2,
      created_at: '',
      last_message: null,
      ...DIRECT,
    };
    gw.io
      .of('/chat')
      .to('user:2')
      .emit('conversation-updated', {
        conversation: { ...conversation, last_seq: 4, unread_count: 4 },
      });
    await until('4 unread', () => c.unreadCount(5) === 4);
    gw.io.of('/chat').to('user:2').emit('messages-read', { conversationId: 5, userId: 2, seq: 2 }); // another device
    await until('2 unread', () => c.unreadCount(5) === 2);
    await c.markRead(5);
    expect(c.unreadCount(5)).toBe(0);
    expect(unread).toEqual([3, 4, 2, 0]);
    gw.io.of('/chat').to('user:2').emit('messages-read', { conversationId: 5, userId: 1, seq: 4 });
    await until("the other's read mark", () => c.readMark(5, 1) === 4);
  });
});

describe('ParleyClient: typing', () => {
  it('sends "typing" once per refresh interval while typing goes on, and "stopped" after the idle time', async () => {
    const c = client(1, { typing: { idleMs: 150, refreshMs: 100 } });
    await c.connect();
    const start = Date.now();
    while (Date.now() - start < 250) {
      c.typing(5);
      await new Promise((r) => setTimeout(r, 10));
    }
    await until('stopped', () => gw.typings.some((t) => !t.isTyping));
    const flags = gw.typings.map((t) => t.isTyping);
    expect(flags.at(-1)).toBe(false);
    expect(flags.filter(Boolean).length).toBeGreaterThanOrEqual(2); // refreshed, not once
    expect(flags.filter(Boolean).length).toBeLessThanOrEqual(4); // debounced, not per keystroke (~25 calls)
    const stoppedAt = gw.typings.at(-1)!.at;
    expect(stoppedAt - start).toBeGreaterThanOrEqual(250 + 150 - 20);
  });

  it("stops typing when the message is sent, and turns another user's indicator off when they go quiet", async () => {
    const a = client(1, { typing: { idleMs: 5_000 } });
    const b = client(2, { typing: { expireMs: 200 } });
    const seen: Array<[number, boolean]> = [];
    b.on('typing', (e) => seen.push([e.userId, e.isTyping]));
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all([a.join(5), b.join(5)]);
    a.typing(5);
    await until('b sees a typing', () => b.typingUsers(5).includes(1));
    await a.send(5, 'done');
    await until('b sees a stop', () => seen.length === 2);
    expect(gw.typings.map((t) => t.isTyping)).toEqual([true, false]);
    // a "typing" whose "stopped" never comes (a closed tab) expires on the receiver
    gw.io
      .of('/chat')
      .to('conversation:5')
      .emit('user-typing', { conversationId: 5, userId: 3, isTyping: true });
    await until('3 typing', () => b.typingUsers(5).includes(3));
    await until('3 expired', () => !b.typingUsers(5).includes(3), 1_000);
    expect(seen).toEqual([
      [1, true],
      [1, false],
      [3, true],
      [3, false],
    ]);
  });
});

describe('ParleyClient: transient send failures', () => {
  it('retries a send refused with a transient error (same client_message_id), but not a final one', async () => {
    const c = client(1);
    await c.connect();
    gw.failNextSend = 'No reply to "messages.send" within 5000 ms: no instance of the service answered';
    const sent = await c.send(5, 'again');
    expect(gw.sends).toHaveLength(2);
    expect(gw.sends[1]!.client_message_id).toBe(gw.sends[0]!.client_message_id);
    expect(sent.content).toBe('again');
    gw.failNextSend = 'content must be shorter than or equal to 4000 characters';
    await expect(c.send(5, 'final')).rejects.toThrow('4000 characters');
    expect(gw.sends).toHaveLength(3);
  });
});

/**
 * A token source that behaves like ParleyAuth's when its refresh skew is shorter than the client's re-auth skew:
 * the same token until asked to refresh. Records each call's `forceRefresh`.
 */
function tokenSource(userId: number, ttlSeconds: number, sid = 'S1') {
  let n = 0;
  const mint = () => fakeJwt({ sub: userId, exp: Date.now() / 1000 + ttlSeconds, sid, n: ++n });
  const source: { current: string; calls: boolean[]; getToken: GetToken } = {
    current: mint(),
    calls: [],
    getToken: (o) => {
      source.calls.push(o?.forceRefresh ?? false);
      if (o?.forceRefresh) source.current = mint();
      return source.current;
    },
  };
  return source;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ParleyClient: re-authentication', () => {
  it('re-authenticates the open socket before its token expires (at 80% of a short life), again and again', async () => {
    // ParleyAuth refreshes these tokens on every getToken (they expire within its 60 s skew): each is newer.
    gw.accessTtlSeconds = 1;
    const auth = new ParleyAuth({ baseUrl: gw.url, tokens: gw.issue(1) });
    const c = client(1, { getToken: auth.getToken });
    const states: StateChange[] = [];
    c.on('state', (s) => states.push(s));
    const connectedAt = Date.now();
    await c.connect();
    const first = gw.handshakes[0]!;
    await until('the first authenticate', () => gw.authenticates.length === 1, 2_000);
    const firstAfter = Date.now() - connectedAt;
    expect(firstAfter).toBeGreaterThanOrEqual(700); // 80% of 1 s, not at once
    expect(firstAfter).toBeLessThan(1_000); // before the server closes the socket
    // Well past the first token's expiry, on the same socket: each token newer than the one before.
    await until('past the first expiry', () => Date.now() > tokenExpiresAt(first)! + 800, 3_000);
    expect(gw.authenticates.length).toBeGreaterThanOrEqual(2);
    const expiries = [first, ...gw.authenticates].map((t) => tokenExpiresAt(t)!);
    expect(expiries).toEqual([...expiries].sort((a, b) => a - b));
    expect(new Set(expiries).size).toBe(expiries.length);
    expect(gw.handshakes).toEqual([first]);
    expect(states.map((s) => s.state)).toEqual(['connecting', 'connected']);
    expect((await c.send(5, 'still here')).content).toBe('still here');
  });

  it('re-authenticates at exp − reauthSkewSeconds when the token lives at least twice that', async () => {
    const tokens = tokenSource(1, 2.5);
    const c = client(1, { getToken: tokens.getToken, reauthSkewSeconds: 1 });
    const connectedAt = Date.now();
    await c.connect();
    await until('the authenticate', () => gw.authenticates.length === 1, 3_000);
    const after = Date.now() - connectedAt;
    expect(after).toBeGreaterThanOrEqual(1_400); // 2.5 s − 1 s
    expect(after).toBeLessThan(1_900); // 80% would be 2 s
    // The source returned the socket's own token first: the client asked again with forceRefresh.
    expect(tokens.calls).toEqual([false, false, true]);
    expect(gw.authenticates).toEqual([tokens.current]);
    expect(gw.handshakes).toHaveLength(1);
  });

  it('retries an authenticate refused for now or unanswered, and keeps the socket', async () => {
    const tokens = tokenSource(1, 2);
    const c = client(1, {
      getToken: tokens.getToken,
      reauthSkewSeconds: 1,
      ackTimeoutMs: 150,
      retry: { initialDelayMs: 20, maxDelayMs: 40 },
    });
    await c.connect();
    const exp = tokenExpiresAt(tokens.current)!;
    gw.dropAuthenticateAcks = 1;
    gw.refuse.authenticate.push(ErrorMessages.rateLimited, ErrorMessages.serviceBusy);
    await until('past the first expiry', () => Date.now() > exp + 500, 4_000);
    expect(gw.authenticates).toHaveLength(4); // no answer, rate limit, busy, taken
    expect(gw.handshakes).toHaveLength(1);
    expect(c.connected).toBe(true);
  });

  it('stops retrying when no time is left; the server closes with Token expired and the client reconnects', async () => {
    // 1.5 s: re-authentication starts at 1.2 s, so that the retries have 300 ms to give up in, even on a busy machine.
    const tokens = tokenSource(1, 1.5);
    const errors: string[] = [];
    const c = client(1, { getToken: tokens.getToken, retry: { initialDelayMs: 50, maxDelayMs: 100 } });
    c.on('error', (e) => errors.push(e.message));
    await c.connect();
    const first = tokens.current;
    await c.join(5);
    gw.refuse.authenticate.push(...Array<string>(100).fill(ErrorMessages.serviceBusy));
    await until('reconnected', () => gw.handshakes.length === 2 && c.connected, 4_000);
    gw.refuse.authenticate.length = 0;
    const tried = gw.authenticates.length;
    expect(tried).toBeGreaterThanOrEqual(2);
    expect(tried).toBeLessThan(10); // gave up before the expiry rather than retrying on
    expect(errors).toContain(ErrorMessages.tokenExpired);
    expect(errors.some((e) => e.startsWith(`authenticate: ${ErrorMessages.serviceBusy}`))).toBe(true);
    expect(gw.handshakes[1]).not.toBe(first);
    await until('re-joined', () => gw.joins.length === 2);
  });

  it('reconnects with a forced refresh when authenticate is refused with Unauthorized', async () => {
    const tokens = tokenSource(1, 1);
    const c = client(1, { getToken: tokens.getToken });
    await c.connect();
    const first = tokens.current;
    gw.refuse.authenticate.push(ErrorMessages.unauthorized);
    await until('reconnected', () => gw.handshakes.length === 2 && c.connected, 3_000);
    // connect; re-auth: the same token, then forced; after the refusal: forced again for the new connection
    expect(tokens.calls.slice(0, 4)).toEqual([false, false, true, true]);
    expect(gw.authenticates[0]).not.toBe(first);
    expect(gw.handshakes).toEqual([first, tokens.current]);
  });

  it('reconnects after the server closes the socket with Token expired, with a newer token than the expired one', async () => {
    const tokens = tokenSource(1, 900);
    const errors: string[] = [];
    const c = client(1, { getToken: tokens.getToken });
    c.on('error', (e) => errors.push(e.message));
    await c.connect();
    await c.join(5);
    const expired = tokens.current;
    gw.expire(1);
    await until('reconnected', () => gw.handshakes.length === 2 && c.connected);
    expect(errors).toEqual([ErrorMessages.tokenExpired]);
    // getToken returned the expired token again: not presented, refreshed instead
    expect(tokens.calls).toEqual([false, false, true]);
    expect(gw.handshakes).toEqual([expired, tokens.current]);
    await until('re-joined', () => gw.joins.length === 2);
  });

  it('closes for good when the server ends the session: pending sends reject, no reconnect', async () => {
    const tokens = tokenSource(1, 900, 'S9');
    const states: StateChange[] = [];
    const c = client(1, { getToken: tokens.getToken, ackTimeoutMs: 2_000 });
    c.on('state', (s) => states.push(s));
    await c.connect();
    gw.dropSendAcks = 1;
    const pending = c.send(5, 'in flight');
    await until('the send arrived', () => gw.sends.length === 1);
    gw.endSession('S9');
    await expect(pending).rejects.toThrow(ErrorMessages.sessionEnded);
    expect(c.state).toBe('closed');
    expect(states.at(-1)).toEqual({ state: 'closed', error: ErrorMessages.sessionEnded });
    await sleep(300);
    expect(gw.handshakes).toHaveLength(1);
    expect(tokens.calls).toEqual([false]);
    await expect(c.connect()).rejects.toThrow(/closed/);
  });

  it('auth.logout() ends the session on the server, which closes the client with Session ended', async () => {
    const auth = new ParleyAuth({ baseUrl: gw.url, tokens: gw.issue(1) });
    const c = client(1, { getToken: auth.getToken });
    const states: StateChange[] = [];
    c.on('state', (s) => states.push(s));
    await c.connect();
    expect(await auth.logout()).toBe(true);
    await until('closed', () => c.closed);
    // closed by the server's word, not by a failed reconnect (which would say Unauthorized)
    expect(states.at(-1)).toEqual({ state: 'closed', error: ErrorMessages.sessionEnded });
    expect(auth.tokens).toBeNull();
    await sleep(200);
    expect(gw.handshakes).toHaveLength(1);
  });

  it('leaves no re-authentication behind after close()', async () => {
    const tokens = tokenSource(1, 0.6);
    const c = client(1, { getToken: tokens.getToken });
    await c.connect();
    c.close();
    await sleep(800); // past when it would have re-authenticated
    expect(tokens.calls).toEqual([false]);
    expect(gw.authenticates).toEqual([]);
  });
});

describe('ParleyClient: refusals for now are retried, final ones are not', () => {
  const retry = { initialDelayMs: 20, maxDelayMs: 50 };

  it('retries a join refused for now and keeps the conversation; a final refusal still fails it', async () => {
    const c = client(2, { retry });
    const messages = record(c);
    await c.connect();
    gw.store(5, 1, 'one');
    gw.refuse['join-conversation'].push(
      ErrorMessages.rateLimited,
      ErrorMessages.serviceBusy,
      'No reply to "conversations.join" within 5000 ms: no instance of the service answered',
      'Could not send "conversations.join": Redis is unreachable',
    );
    await c.join(5);
    expect(gw.joins).toHaveLength(5);
    expect(c.conversations).toEqual([5]);
    expect(seqs(messages)).toEqual([1]);
    gw.refuse['join-conversation'].push(ErrorMessages.notParticipantJoin);
    await expect(c.join(6)).rejects.toThrow(ErrorMessages.notParticipantJoin);
    expect(c.conversations).toEqual([5]);
    await sleep(150);
    expect(gw.joins).toHaveLength(6);
  });

  it('retries a send refused for now with the same client_message_id, past maxSendAttempts; final refusals reject', async () => {
    const c = client(1, { retry, maxSendAttempts: 2 });
    await c.connect();
    gw.refuse['send-message'].push(
      ErrorMessages.rateLimited,
      ErrorMessages.serviceBusy,
      ErrorMessages.rateLimited,
      'Could not send "messages.send": Redis is unreachable',
    );
    const sent = await c.send(5, 'patient');
    expect(gw.sends).toHaveLength(5);
    expect(new Set(gw.sends.map((p) => p.client_message_id))).toEqual(new Set([sent.client_message_id]));
    expect(gw.stored(5)).toHaveLength(1);
    gw.refuse['send-message'].push(ErrorMessages.unauthorized);
    await expect(c.send(9, 'refused')).rejects.toThrow(ErrorMessages.unauthorized);
    expect(gw.sends).toHaveLength(6);
    // An unexpected server error is retried, but only maxSendAttempts times (it may happen every time)
    gw.refuse['send-message'].push('Internal server error', 'Internal server error', 'Internal server error');
    await expect(c.send(5, 'unlucky')).rejects.toBeInstanceOf(ParleySendError);
    expect(gw.sends).toHaveLength(8);
  });

  it('sends a mark-read refused for now again (merged with later ones); a final refusal rejects', async () => {
    const c = client(2, { retry });
    await c.connect();
    for (const t of ['a', 'b', 'c', 'd']) gw.store(5, 1, t);
    await c.join(5);
    gw.refuse['mark-read'].push(ErrorMessages.rateLimited, ErrorMessages.serviceBusy);
    expect(await c.markRead(5, 2)).toBe(2); // the local mark, at once
    expect(await c.markRead(5, 3)).toBe(3);
    expect(c.unreadCount(5)).toBe(1);
    await until('the retry', () => gw.markReads.length === 3);
    expect(gw.markReads.map((m) => m.seq)).toEqual([2, 3, 3]); // one retry, for the highest
    await sleep(150);
    expect(gw.markReads).toHaveLength(3);
    gw.refuse['mark-read'].push(ErrorMessages.unauthorized);
    await expect(c.markRead(6, 1)).rejects.toThrow(ErrorMessages.unauthorized);
    await sleep(150);
    expect(gw.markReads).toHaveLength(4);
  });
});
