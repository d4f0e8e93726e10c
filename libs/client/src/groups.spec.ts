import type { Conversation, Message } from '@parley/contracts/wire';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScriptedGateway } from '../test/scripted-gateway.js';
import { ParleyClient, type ParleyClientOptions } from './client.js';
import { ParleyApiError } from './rest.js';

// Groups in the client: the end of a membership (conversation-removed, a re-join refused for good, leaving),
// "seen by" over many members, system messages and unread counts, createGroup by usernames. Against the
// ScriptedGateway, a real Socket.IO server (the real gateway: test/client/groups.e2e-spec.ts).

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
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    retry: { initialDelayMs: 10, maxDelayMs: 50 },
    ackTimeoutMs: 500,
    gapTimeoutMs: 300,
    ...options,
  });
  clients.push(c);
  return c;
}

function record(c: ParleyClient): Message[] {
  const messages: Message[] = [];
  c.on('message', (m) => messages.push(m));
  return messages;
}

function removals(c: ParleyClient): number[] {
  const ids: number[] = [];
  c.on('conversationRemoved', (e) => ids.push(e.conversationId));
  return ids;
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ParleyClient: leaving a group, or being removed', () => {
  it('on conversation-removed: drops the conversation, raises conversationRemoved once, delivers nothing more, never re-joins it', async () => {
    gw.group(5, [1, 2, 3]);
    const c = client(2);
    const messages = record(c);
    const removed = removals(c);
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    await c.connect();
    await Promise.all([c.join(5), c.join(6)]);
    gw.deliver(gw.store(5, 1, 'before'));
    await until('the first message', () => messages.length === 1);
    expect(c.unreadCount(5)).toBe(1);

    gw.removeMember(5, 2, 1);
    await until('removed', () => removed.length === 1);
    expect(removed).toEqual([5]);
    expect(c.conversations).toEqual([6]);
    expect(c.unreadCount(5)).toBeUndefined();
    expect(c.lastSeq(5)).toBeUndefined();

    // What was already on its way (another gateway's broadcast) is dropped, and a repeat of the event too.
    const late = gw.store(5, 3, 'late');
    gw.io.of('/chat').to('user:2').emit('receive-message', late);
    gw.io.of('/chat').to('user:2').emit('messages-read', { conversationId: 5, userId: 3, seq: 3 });
    gw.io.of('/chat').to('user:2').emit('conversation-removed', { conversationId: 5 });
    gw.dropConnections();
    await until('reconnected', () => !c.connected);
    await until('reconnected', () => c.connected);
    gw.deliver(gw.store(5, 1, 'after'));
    await pause(200);
    expect(messages.map((m) => m.content)).toEqual(['before']);
    expect(removed).toEqual([5]);
    expect(gw.joins.filter((j) => j.conversationId === 5)).toHaveLength(1); // the first join only
    expect(gw.joins.filter((j) => j.conversationId === 6)).toHaveLength(2); // the other one is re-joined
    expect(c.readMark(5, 3)).toBe(0);
    expect(errors).toEqual([]);
  });

  it('removed while disconnected: the refused re-join raises conversationRemoved (not an error)', async () => {
    gw.group(5, [1, 2]);
    const c = client(2, { reconnect: { initialDelayMs: 200, maxDelayMs: 200 } });
    const removed = removals(c);
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    await c.connect();
    await c.join(5);
    gw.dropConnections();
    await until('disconnected', () => !c.connected);
    gw.removeMember(5, 2, 1, false); // nobody there to tell
    await until('removed', () => removed.length === 1);
    expect(removed).toEqual([5]);
    expect(c.conversations).toEqual([]);
    expect(errors).toEqual([]);

    // A first join refused is the app's mistake, not a removal: it rejects, as before.
    gw.group(7, [1]);
    await expect(c.join(7)).rejects.toThrow('Unauthorized to join this conversation');
    expect(removed).toEqual([5]);
  });

  it('believes a conversation-updated after the removal only once REST says it is a member again', async () => {
    gw.group(5, [1, 2]);
    const c = client(2);
    const removed = removals(c);
    const updates: Conversation[] = [];
    c.on('conversation', (u) => updates.push(u));
    await c.connect();
    await c.join(5);
    gw.removeMember(5, 2, 1);
    await until('removed', () => removed.length === 1);

    // late news of a message stored before the removal: REST says 403, so it is dropped
    gw.io
      .of('/chat')
      .to('user:2')
      .emit('conversation-updated', { conversation: gw.conversationFor(5, 2) });
    await until('checked over REST', () => gw.restCalls.includes('GET /api/chats/conversations/5'));
    await pause(100);
    expect(updates).toEqual([]);
    expect(c.unreadCount(5)).toBeUndefined();

    // added again: the update is believed, and the conversation can be joined as before
    gw.members.get(5)!.add(2);
    gw.io
      .of('/chat')
      .to('user:2')
      .emit('conversation-updated', { conversation: gw.conversationFor(5, 2) });
    await until('the update', () => updates.length === 1);
    expect(updates[0]).toMatchObject({ id: 5, type: 'group' });
    const messages = record(c);
    await c.join(5);
    gw.deliver(gw.store(5, 1, 'welcome back'));
    await until('a message again', () => messages.some((m) => m.content === 'welcome back'));
  });

  it('leaveGroup() drops the conversation at once; the server event that follows is not raised again', async () => {
    gw.group(5, [1, 2]);
    const c = client(2);
    const removed = removals(c);
    await c.connect();
    await c.join(5);
    await c.leaveGroup(5);
    expect(removed).toEqual([5]);
    expect(c.conversations).toEqual([]);
    expect(gw.restCalls).toContain('DELETE /api/chats/conversations/5/members/2');
    await pause(100);
    expect(removed).toEqual([5]);
    expect(gw.stored(5).at(-1)?.system).toEqual({ action: 'member_left', actor_id: 2, user_ids: [2] });
  });
});

describe('ParleyClient: read receipts in a group ("seen by")', () => {
  it('seeds them from every page of members, follows messages-read and messages of many members, forgets those who left', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => i + 1);
    gw.group(5, ids);
    for (let i = 0; i < 3; i++) gw.store(5, 1, `m${i + 1}`); // seqs 1, 2, 3
    for (const id of ids) gw.lastRead.get(5)!.set(id, id <= 10 ? 3 : 1); // 1..10 have read everything
    gw.membersPageMax = 25;
    const c = client(1);
    await c.connect();
    await c.join(5);
    const members = await c.members(5);
    expect(members.map((m) => m.user.id)).toEqual(ids);
    expect(gw.restCalls.filter((r) => r.startsWith('GET /api/chats/conversations/5/members'))).toHaveLength(
      3,
    );
    const seen = Array.from({ length: 9 }, (_, i) => i + 2); // 2..10: not yourself
    expect(c.seenBy(5, 3)).toEqual(seen);
    expect(c.seenBy(5, 1)).toEqual(ids.slice(1));

    // many members read at once, in any order; a message moves its sender's mark
    for (const id of [42, 17, 60, 11]) {
      gw.io.of('/chat').to('conversation:5').emit('messages-read', { conversationId: 5, userId: id, seq: 3 });
    }
    gw.deliver(gw.store(5, 33, 'from 33')); // seq 4
    await until('the reads', () => c.seenBy(5, 3).length === 14);
    expect(c.seenBy(5, 3)).toEqual([...seen, 11, 17, 33, 42, 60]);
    expect(c.seenBy(5, 4)).toEqual([33]);
    expect(c.readMark(5, 42)).toBe(3);

    // 42 leaves and 17 is removed: neither is among "seen by" any more
    gw.removeMember(5, 42);
    gw.removeMember(5, 17, 1);
    await until('they are gone', () => c.seenBy(5, 3).length === 12);
    expect(c.seenBy(5, 3)).toEqual([...seen, 11, 33, 60]);

    // a complete member list drops marks of users no longer in it
    gw.members.get(5)!.delete(60);
    await c.members(5);
    expect(c.seenBy(5, 3)).toEqual([...seen, 11, 33]);
  });

  it('does not count system messages as unread', async () => {
    gw.group(5, [1, 2, 3]);
    const c = client(2);
    const unread: number[] = [];
    c.on('unread', (e) => e.conversationId === 5 && unread.push(e.count));
    await c.connect();
    await c.join(5);
    await c.markRead(5);
    gw.storeSystem(5, { action: 'member_added', actor_id: 1, user_ids: [4] }, 'one added four');
    gw.deliver(gw.store(5, 3, 'hello'));
    gw.storeSystem(5, { action: 'role_changed', actor_id: 1, user_ids: [3] }, 'one made three an admin');
    await until('3 messages', () => c.lastSeq(5) === 3);
    expect(c.unreadCount(5)).toBe(1);
    // the server's count (it never counts system messages) agrees and changes nothing
    gw.io
      .of('/chat')
      .to('user:2')
      .emit('conversation-updated', { conversation: gw.conversationFor(5, 2) });
    await pause(100);
    expect(c.unreadCount(5)).toBe(1);
    expect(unread).toEqual([0, 1]);
  });
});

describe('ParleyClient.createGroup', () => {
  it('resolves usernames to ids (leaving yourself out), retries a throttled lookup, and tracks the group', async () => {
    const c = client(1);
    await c.connect();
    gw.throttleLookups = 1;
    const group = await c.createGroup({ title: 'Trip', usernames: ['user2', 'user3', ' user2 ', 'user1'] });
    expect(group).toMatchObject({ type: 'group', member_count: 3 });
    expect([...gw.members.get(group.id)!]).toEqual([1, 2, 3]);
    expect(gw.restCalls.filter((r) => r.startsWith('GET /api/users?'))).toHaveLength(4); // one retried
    expect(c.unreadCount(group.id)).toBe(0);
  });

  it('rejects with a 404 naming the unknown username, and creates nothing', async () => {
    const c = client(1);
    await c.connect();
    const error = await c
      .createGroup({ title: 'Trip', usernames: ['user2', 'nobody'] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyApiError);
    expect(error).toMatchObject({ status: 404, message: 'User not found: nobody' });
    expect(gw.restCalls.filter((r) => r.startsWith('POST'))).toEqual([]);
  });
});
