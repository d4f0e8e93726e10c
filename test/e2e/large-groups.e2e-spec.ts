import type { AuthResult, Conversation, ConversationPage, Message } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connectRecorded,
  conversationBetween,
  registerUser,
  sleep,
  waitFor,
  type Recorder,
} from '@parley/testing';

// Groups over GROUP_FANOUT_MAX members (3 here, so small groups stand in for large ones): their members' lists
// read the conversation's own activity. Every group's conversation-updated is coalesced, and presence is not
// shared in groups over PRESENCE_GROUP_MAX (3 here).
let cluster: Cluster;
let gw: [string, string];
const open: Recorder[] = [];
const COALESCE_MS = 400;

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 2,
    gatewayEnv: {
      RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
      RATE_LIMIT_MESSAGES_BURST: '100000',
      RATE_LIMIT_GROUP_CHANGES_PER_SECOND: '100000',
      RATE_LIMIT_GROUP_CHANGES_BURST: '100000',
      RATE_LIMIT_HISTORY_PER_SECOND: '100000',
      RATE_LIMIT_HISTORY_BURST: '100000',
      CONVERSATION_UPDATE_COALESCE_MS: String(COALESCE_MS),
    },
    env: { RATE_LIMIT_CONVERSATIONS_PER_MINUTE: '100000' },
    chatsEnv: { GROUP_FANOUT_MAX: '3', PRESENCE_GROUP_MAX: '3' },
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
});
afterAll(async () => {
  for (const r of open) r.socket.close();
  await cluster?.stop();
});

const users = (n: number, prefix: string) =>
  Promise.all(Array.from({ length: n }, (_, i) => registerUser(gw[i % 2]!, `${prefix}${i}`)));

async function group(owner: AuthResult, members: AuthResult[], title: string): Promise<Conversation> {
  const res = await api<Conversation>(gw[0], 'POST', '/api/chats/conversations', {
    token: owner.tokens.access,
    body: { type: 'group', title, member_ids: members.map((m) => m.user.id) },
  });
  expect(res.status).toBe(201);
  return res.body;
}

const send = (user: AuthResult, conversationId: number, content: string) =>
  api<Message>(gw[1], 'POST', `/api/chats/conversations/${conversationId}/messages`, {
    token: user.tokens.access,
    body: { message_type: 'text', content },
  });

async function listed(user: AuthResult, limit = 100): Promise<number[]> {
  const ids: number[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const res: { body: ConversationPage } = await api<ConversationPage>(
      gw[0],
      'GET',
      `/api/chats/conversations?limit=${limit}${query}`,
      { token: user.tokens.access },
    );
    ids.push(...res.body.conversations.map((c) => c.id));
    cursor = res.body.next_cursor;
  } while (cursor);
  return ids;
}

describe('groups at scale', () => {
  it('groups over GROUP_FANOUT_MAX list in the order of their latest activity among direct conversations and small groups, on every page', async () => {
    const [me, a, b, c, d] = await users(5, 'lgl');
    const direct = await conversationBetween(gw[0], me!, a!);
    const small = await group(a!, [me!, b!], 'small'); // 3 members: pushed
    const large = await group(b!, [me!, a!, c!, d!], 'large'); // 5 members: read from the conversation
    expect(large.member_count).toBe(5);
    await send(d!, large.id, 'l1');
    await send(a!, direct.id, 'd1');
    await send(b!, small.id, 's1');
    expect(await listed(me!)).toEqual([small.id, direct.id, large.id]);
    await send(c!, large.id, 'l2');
    expect(await listed(me!)).toEqual([large.id, small.id, direct.id]);
    expect(await listed(me!, 1)).toEqual([large.id, small.id, direct.id]); // one per page, by cursor

    // The small group grows past the threshold: its members now read its place from the conversation.
    await api(gw[1], 'POST', `/api/chats/conversations/${small.id}/members`, {
      token: a!.tokens.access,
      body: { user_ids: [c!.user.id, d!.user.id] },
    });
    expect(await listed(me!)).toEqual([small.id, large.id, direct.id]); // the system message moved it
    await send(a!, direct.id, 'd2');
    await send(d!, large.id, 'l3');
    expect(await listed(me!, 2)).toEqual([large.id, direct.id, small.id]);
    expect(await listed(c!)).toEqual([large.id, small.id]);
  });

  it('coalesce conversation-updated to a round at once and at most one per interval after, with the final unread count', async () => {
    const people = await users(5, 'lgc');
    const [owner, watcher] = people as [AuthResult, AuthResult];
    const large = await group(owner, people.slice(1), 'busy');
    const inList = await connectRecorded(gw[1], { token: watcher.tokens.access });
    open.push(inList);
    const inRoom = await connectRecorded(gw[0], { token: people[2]!.tokens.access });
    open.push(inRoom);
    await new Promise((resolve) =>
      inRoom.socket.emit(
        'join-conversation',
        { conversationId: large.id, userId: people[2]!.user.id },
        resolve,
      ),
    );
    await sleep(COALESCE_MS * 2); // the creation's round is over
    inList.clear();
    const count = 30;
    for (let i = 0; i < count; i++) await send(owner, large.id, `m${i}`);
    const last = 1 + count;
    const updates = () =>
      inList
        .of<{ conversation: Conversation }>('conversation-updated')
        .filter((e) => e.conversation.id === large.id)
        .map((e) => e.conversation);
    await waitFor('the final state', () => updates().some((c) => c.last_seq === last), 10_000);
    await sleep(COALESCE_MS * 2);
    const seen = updates();
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeLessThan(count); // not one per message
    expect(seen.at(-1)).toMatchObject({
      last_seq: last,
      unread_count: count,
      my_role: 'member',
      type: 'group',
    });
    // receive-message is not coalesced: every message, once, to the room.
    await waitFor('all live', () => inRoom.of('receive-message').length >= count);
    await sleep(200);
    expect(inRoom.of<Message>('receive-message').map((m) => m.content)).toEqual(
      Array.from({ length: count }, (_, i) => `m${i}`),
    );
  });

  it('share presence in groups of at most PRESENCE_GROUP_MAX members only', async () => {
    const [a, b, c, d, e] = await users(5, 'lgp');
    await group(a!, [b!, c!, d!, e!], 'too big for presence');
    await group(c!, [d!], 'small enough');
    const watcher = await connectRecorded(gw[0], { token: d!.tokens.access });
    open.push(watcher);
    const [inBig, inSmall] = await Promise.all([
      connectRecorded(gw[1], { token: b!.tokens.access }),
      connectRecorded(gw[1], { token: c!.tokens.access }),
    ]);
    open.push(inBig, inSmall);
    await waitFor('c online for d', () =>
      watcher.of<{ userId: number }>('user:online').some((x) => x.userId === c!.user.id),
    );
    await sleep(300);
    // c may arrive twice (the connect snapshot racing c's own transition); b, in the big group only, never.
    const announced = new Set(watcher.of<{ userId: number }>('user:online').map((x) => x.userId));
    expect([...announced]).toEqual([c!.user.id]);
  });
});
