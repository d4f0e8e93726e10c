import { createServer } from 'node:net';
import type { Message } from '@parley/contracts/wire';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScriptedGateway } from '../test/scripted-gateway.js';
import { ParleyClient, ParleySendError, type ParleyClientOptions, type StateChange } from './client.js';
import { ParleyRest } from './rest.js';

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
  it('re-joins with since_seq after a reconnect and delivers what it missed once, in order, paging over REST', async () => {
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
    expect(gw.joins.map((j) => j.since_seq)).toEqual([undefined, 2]);
    expect(gw.restCalls).toContain('GET /api/chats/conversations/5/messages?after_seq=4&limit=100');
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
      },
    ]);
    expect(c.unreadCount(5)).toBe(3);
    const conversation = { id: 5, sender_id: 1, receiver_id: 2, created_at: '', last_message: null };
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
