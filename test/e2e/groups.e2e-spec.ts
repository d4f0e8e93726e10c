import type {
  AuthResult,
  Conversation,
  ConversationPage,
  MemberPage,
  Message,
  MessagePage,
} from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connectRecorded,
  conversationBetween,
  registerUser,
  request,
  sleep,
  waitFor,
  type Recorder,
} from '@parley/testing';

// Groups on 2 gateways and 2 chats services: membership, fan-out, removals that take effect at once, roles,
// unread counts and receipts, blocks and mutes.
let cluster: Cluster;
let gw: [string, string];
const open: Recorder[] = [];

const UNLIMITED = '100000';
beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 2,
    gatewayEnv: Object.fromEntries(
      [
        'MESSAGES',
        'GROUP_CHANGES',
        'JOINS',
        'TYPING',
        'SETTINGS',
        'HISTORY',
        'READ_MARKS',
        'LOOKUPS',
      ].flatMap((kind) => [
        [`RATE_LIMIT_${kind}_PER_SECOND`, UNLIMITED],
        [`RATE_LIMIT_${kind}_BURST`, UNLIMITED],
      ]),
    ),
    env: { RATE_LIMIT_CONVERSATIONS_PER_MINUTE: UNLIMITED, SOCKET_MAX_IN_FLIGHT: '1000' },
    chatsEnv: { GROUP_MAX_MEMBERS: '40' },
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
});
afterAll(async () => {
  for (const r of open) r.socket.close();
  await cluster?.stop();
});

async function users(n: number, prefix: string): Promise<AuthResult[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => registerUser(gw[i % 2]!, `${prefix}${i}`)));
}

async function socketOf(user: AuthResult, gateway: number): Promise<Recorder> {
  const r = await connectRecorded(gw[gateway]!, { token: user.tokens.access });
  open.push(r);
  return r;
}

async function createGroup(owner: AuthResult, members: AuthResult[], title = 'Team'): Promise<Conversation> {
  const res = await api<Conversation>(gw[0], 'POST', '/api/chats/conversations', {
    token: owner.tokens.access,
    body: { type: 'group', title, member_ids: members.map((m) => m.user.id) },
  });
  expect(res.status).toBe(201);
  return res.body;
}

function join(r: Recorder, user: AuthResult, conversationId: number) {
  return request<{ success: boolean; error?: string; last_seq: number }>(r.socket, 'join-conversation', {
    conversationId,
    userId: user.user.id,
  });
}

function send(user: AuthResult, conversationId: number, content: string, gateway = 0) {
  return api<Message>(gw[gateway]!, 'POST', `/api/chats/conversations/${conversationId}/messages`, {
    token: user.tokens.access,
    body: { message_type: 'text', content },
  });
}

async function history(user: AuthResult, conversationId: number): Promise<Message[]> {
  const res = await api<MessagePage>(
    gw[1],
    'GET',
    `/api/chats/conversations/${conversationId}/messages?after_seq=0&limit=100`,
    { token: user.tokens.access },
  );
  expect(res.status).toBe(200);
  return res.body.messages;
}

async function members(user: AuthResult, conversationId: number): Promise<MemberPage['members']> {
  const res = await api<MemberPage>(
    gw[0],
    'GET',
    `/api/chats/conversations/${conversationId}/members?limit=100`,
    {
      token: user.tokens.access,
    },
  );
  expect(res.status).toBe(200);
  return res.body.members;
}

async function listIds(user: AuthResult): Promise<number[]> {
  const res = await api<ConversationPage>(gw[1], 'GET', '/api/chats/conversations?limit=100', {
    token: user.tokens.access,
  });
  return res.body.conversations.map((c) => c.id);
}

const received = (r: Recorder, conversationId: number) =>
  r.of<Message>('receive-message').filter((m) => m.conversation_id === conversationId);
const texts = (r: Recorder, conversationId: number) =>
  received(r, conversationId)
    .filter((m) => m.message_type === 'text')
    .map((m) => m.content);

describe('a group of 5 members over 2 gateways', () => {
  let people: AuthResult[];
  let sockets: Recorder[];
  let group: Conversation;

  it('is created with a system message, appears for every member, and delivers each message once to every socket', async () => {
    people = await users(5, 'g5m');
    // Every member on both gateways but the last, who has one socket.
    sockets = await Promise.all(
      people.flatMap((p, i) => (i < 4 ? [socketOf(p, 0), socketOf(p, 1)] : [socketOf(p, 1)])),
    );
    group = await createGroup(people[0]!, people.slice(1), 'Five');
    expect(group).toMatchObject({
      type: 'group',
      title: 'Five',
      receiver_id: null,
      sender_id: people[0]!.user.id,
      member_count: 5,
      my_role: 'owner',
      last_seq: 1,
      unread_count: 0,
      muted: false,
      muted_until: null,
      metadata: {},
    });
    expect(group.last_message).toMatchObject({
      seq: 1,
      message_type: 'system',
      system: { action: 'created', actor_id: people[0]!.user.id },
    });
    // Everyone's every socket sees it appear.
    for (const s of sockets) {
      await waitFor('conversation-updated', () =>
        s
          .of<{ conversation: Conversation }>('conversation-updated')
          .some((e) => e.conversation.id === group.id),
      );
    }
    const memberView = sockets[2]!
      .of<{ conversation: Conversation }>('conversation-updated')
      .find((e) => e.conversation.id === group.id)!.conversation;
    expect(memberView).toMatchObject({ my_role: 'member', member_count: 5, unread_count: 0 });

    for (const [i, s] of sockets.entries()) {
      const person = people[Math.min(Math.floor(i / 2), 4)]!;
      expect((await join(s, person, group.id)).success).toBe(true);
    }
    const fromSocket = sockets[2]!; // people[1] on gateway 0
    const acks = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request<{ success: boolean }>(fromSocket.socket, 'send-message', {
          sender_id: people[1]!.user.id,
          conversation_id: group.id,
          message_type: 'text',
          content: `s${i}`,
        }),
      ),
    );
    expect(acks.every((a) => a.success)).toBe(true);
    for (let i = 0; i < 10; i++) expect((await send(people[3]!, group.id, `r${i}`, i % 2)).status).toBe(201);

    const expected = (s: Recorder) => (s === fromSocket ? 10 : 20);
    for (const s of sockets) {
      await waitFor('all deliveries', () => texts(s, group.id).length >= expected(s), 15_000);
    }
    await sleep(300);
    for (const s of sockets) {
      const got = texts(s, group.id);
      expect(got).toHaveLength(expected(s)); // once each
      expect(new Set(got).size).toBe(got.length);
    }
    const stored = await history(people[4]!, group.id);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it('adds a 6th member, who sees the group appear, finds the system message in history and receives from then on', async () => {
    const [sixth] = await users(1, 'g5new');
    const socket = await socketOf(sixth!, 1);
    expect(await listIds(sixth!)).not.toContain(group.id);
    const res = await api<{ added: number[] }>(
      gw[1],
      'POST',
      `/api/chats/conversations/${group.id}/members`,
      {
        token: people[0]!.tokens.access,
        body: { user_ids: [sixth!.user.id, people[1]!.user.id] }, // an existing member is skipped
      },
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ added: [sixth!.user.id] });
    await waitFor('the new member sees the group', () =>
      socket
        .of<{ conversation: Conversation }>('conversation-updated')
        .some((e) => e.conversation.id === group.id),
    );
    const seen = socket
      .of<{ conversation: Conversation }>('conversation-updated')
      .find((e) => e.conversation.id === group.id)!.conversation;
    expect(seen).toMatchObject({ member_count: 6, my_role: 'member', unread_count: 0 });
    expect(await listIds(sixth!)).toContain(group.id);
    const log = await history(sixth!, group.id);
    expect(log.at(-1)).toMatchObject({
      message_type: 'system',
      system: { action: 'member_added', actor_id: people[0]!.user.id, user_ids: [sixth!.user.id] },
    });
    // The room saw the system message too.
    await waitFor('system message live', () =>
      received(sockets[0]!, group.id).some((m) => m.system?.action === 'member_added'),
    );
    expect((await join(socket, sixth!, group.id)).success).toBe(true);
    await send(people[2]!, group.id, 'welcome');
    await waitFor('the new member receives', () => texts(socket, group.id).includes('welcome'));
    people.push(sixth!);
    sockets.push(socket);
  });

  it('removes a member: both their sockets stop receiving at once, and they lose send, join, history and the list', async () => {
    const removed = people[2]!;
    const [onGw0, onGw1] = [sockets[4]!, sockets[5]!];
    const res = await api(
      gw[1],
      'DELETE',
      `/api/chats/conversations/${group.id}/members/${removed.user.id}`,
      {
        token: people[0]!.tokens.access,
      },
    );
    expect(res.status).toBe(204);
    // Acknowledged: from now on, nothing more reaches them, on either gateway.
    const before = [texts(onGw0, group.id).length, texts(onGw1, group.id).length];
    await send(people[1]!, group.id, 'after removal', 0);
    await send(people[3]!, group.id, 'after removal 2', 1);
    await waitFor('the others receive', () => texts(sockets[0]!, group.id).includes('after removal 2'));
    await sleep(300);
    expect([texts(onGw0, group.id).length, texts(onGw1, group.id).length]).toEqual(before);
    for (const s of [onGw0, onGw1]) {
      expect(s.of('conversation-removed')).toContainEqual({ conversationId: group.id });
    }
    expect((await send(removed, group.id, 'let me in')).status).toBe(403);
    const sent = await request<{ success: boolean; error: string }>(onGw0.socket, 'send-message', {
      sender_id: removed.user.id,
      conversation_id: group.id,
      message_type: 'text',
      content: 'let me in',
    });
    expect(sent).toEqual({ success: false, error: 'Unauthorized' });
    expect(await join(onGw1, removed, group.id)).toEqual({
      success: false,
      error: 'Unauthorized to join this conversation',
    });
    const past = await api(gw[0], 'GET', `/api/chats/conversations/${group.id}/messages`, {
      token: removed.tokens.access,
    });
    expect(past.status).toBe(403);
    expect(await listIds(removed)).not.toContain(group.id);
    const read = await request<{ success: boolean; error: string }>(onGw0.socket, 'mark-read', {
      conversationId: group.id,
    });
    expect(read).toEqual({ success: false, error: 'Unauthorized' });
    const typing = await request<{ success: boolean; error: string }>(onGw0.socket, 'typing', {
      conversationId: group.id,
      userId: removed.user.id,
      isTyping: true,
    });
    expect(typing).toEqual({ success: false, error: 'Unauthorized' });
    const log = await history(people[0]!, group.id);
    expect(log.find((m) => m.system?.action === 'member_removed')).toMatchObject({
      system: { actor_id: people[0]!.user.id, user_ids: [removed.user.id] },
    });
  });

  it('enforces roles: members cannot manage, admins manage members, only the owner changes roles, nobody removes the owner', async () => {
    const [owner, member, other] = [people[0]!, people[1]!, people[3]!];
    const path = `/api/chats/conversations/${group.id}`;
    const as = (u: AuthResult, method: string, p: string, body?: unknown) =>
      api(gw[1], method, p, { token: u.tokens.access, body });
    expect(await as(member, 'POST', `${path}/members`, { user_ids: [people[2]!.user.id] })).toMatchObject({
      status: 403,
      body: { message: 'Not allowed' },
    });
    expect((await as(member, 'DELETE', `${path}/members/${other.user.id}`)).status).toBe(403);
    expect((await as(member, 'PATCH', path, { title: 'Mine now' })).status).toBe(403);
    expect((await as(member, 'PATCH', `${path}/members/${other.user.id}`, { role: 'admin' })).status).toBe(
      403,
    );

    const promoted = await as(owner, 'PATCH', `${path}/members/${member.user.id}`, { role: 'admin' });
    expect(promoted.status).toBe(200);
    expect((await members(owner, group.id)).find((m) => m.user.id === member.user.id)!.role).toBe('admin');
    // An admin adds and removes members and edits the group, but does not change roles or remove the owner.
    expect((await as(member, 'POST', `${path}/members`, { user_ids: [people[2]!.user.id] })).status).toBe(
      200,
    );
    expect((await as(member, 'DELETE', `${path}/members/${people[2]!.user.id}`)).status).toBe(204);
    const renamed = await as(member, 'PATCH', path, { title: 'Renamed', metadata: { color: 'blue' } });
    expect(renamed).toMatchObject({ status: 200, body: { title: 'Renamed', metadata: { color: 'blue' } } });
    expect((await as(member, 'PATCH', `${path}/members/${other.user.id}`, { role: 'admin' })).status).toBe(
      403,
    );
    expect((await as(member, 'DELETE', `${path}/members/${owner.user.id}`)).status).toBe(403);
    expect((await as(owner, 'PATCH', `${path}/members/${owner.user.id}`, { role: 'member' })).status).toBe(
      403,
    );
    const log = await history(owner, group.id);
    expect(log.filter((m) => m.message_type === 'system').map((m) => m.system!.action)).toEqual([
      'created',
      'member_added',
      'member_removed',
      'role_changed',
      'member_added',
      'member_removed',
      'group_updated',
    ]);
    // A direct conversation's membership never changes.
    const direct = await conversationBetween(gw[0], owner, member);
    expect(
      await as(owner, 'POST', `/api/chats/conversations/${direct.id}/members`, { user_ids: [other.user.id] }),
    ).toMatchObject({
      status: 400,
      body: { message: 'Direct conversations have exactly two members' },
    });
    expect(
      (await as(owner, 'DELETE', `/api/chats/conversations/${direct.id}/members/${owner.user.id}`)).status,
    ).toBe(400);
  });

  it('hands the group to its longest-standing admin when the owner leaves, else to its longest-standing member', async () => {
    const [owner, admin] = [people[0]!, people[1]!];
    const left = await api(gw[0], 'DELETE', `/api/chats/conversations/${group.id}/members/${owner.user.id}`, {
      token: owner.tokens.access,
    });
    expect(left.status).toBe(204);
    const roles = await members(admin, group.id);
    expect(roles.find((m) => m.user.id === admin.user.id)!.role).toBe('owner');
    expect(roles.some((m) => m.user.id === owner.user.id)).toBe(false);
    const tail = (await history(admin, group.id)).slice(-2);
    expect(tail.map((m) => m.system)).toEqual([
      { action: 'member_left', actor_id: owner.user.id, user_ids: [owner.user.id] },
      { action: 'role_changed', actor_id: owner.user.id, user_ids: [admin.user.id] },
    ]);

    const [a, b, c] = await users(3, 'heir');
    const plain = await createGroup(a!, [b!, c!]);
    await api(gw[0], 'DELETE', `/api/chats/conversations/${plain.id}/members/${a!.user.id}`, {
      token: a!.tokens.access,
    });
    const heirs = await members(b!, plain.id);
    // No admin: the member who joined first (the same moment for both: the lower id).
    expect(heirs.find((m) => m.role === 'owner')!.user.id).toBe(Math.min(b!.user.id, c!.user.id));
  });
});

describe('concurrency', () => {
  it('20 concurrent adds and removes leave a consistent member set and a gapless seq', async () => {
    const [owner, ...rest] = await users(21, 'cc');
    const initial = rest.slice(0, 10);
    const newcomers = rest.slice(10, 20);
    const group = await createGroup(owner!, initial);
    const results = await Promise.all([
      ...initial.map((m, i) =>
        api(gw[i % 2]!, 'DELETE', `/api/chats/conversations/${group.id}/members/${m.user.id}`, {
          token: owner!.tokens.access,
        }),
      ),
      ...newcomers.map((m, i) =>
        api(gw[i % 2]!, 'POST', `/api/chats/conversations/${group.id}/members`, {
          token: owner!.tokens.access,
          body: { user_ids: [m.user.id] },
        }),
      ),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([...Array(10).fill(200), ...Array(10).fill(204)]);
    const now = await members(owner!, group.id);
    expect(now.map((m) => m.user.id).sort((x, y) => x - y)).toEqual(
      [owner!, ...newcomers].map((u) => u.user.id).sort((x, y) => x - y),
    );
    const view = await api<Conversation>(gw[1], 'GET', `/api/chats/conversations/${group.id}`, {
      token: owner!.tokens.access,
    });
    expect(view.body).toMatchObject({ member_count: 11, last_seq: 21 });
    const log = await history(owner!, group.id);
    expect(log.map((m) => m.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    const counts = await cluster.db.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM conversation_participants WHERE conversation_id = $1`,
      [group.id],
    );
    expect(counts[0]!.n).toBe(11);
  });

  it('a member removed while 500 messages are in flight receives none committed after the removal', async () => {
    const [owner, sender, target] = await users(3, 'burst');
    const group = await createGroup(owner!, [sender!, target!]);
    const senderSocket = await socketOf(sender!, 0);
    const targetSocket = await socketOf(target!, 1);
    const ownerSocket = await socketOf(owner!, 1);
    for (const [s, u] of [
      [senderSocket, sender],
      [targetSocket, target],
      [ownerSocket, owner],
    ] as const) {
      expect((await join(s, u!, group.id)).success).toBe(true);
    }
    let acked = 0;
    const burst = Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        request<{ success: boolean }>(
          senderSocket.socket,
          'send-message',
          {
            sender_id: sender!.user.id,
            conversation_id: group.id,
            message_type: 'text',
            content: `b${i}`,
            client_message_id: `burst-${i}`,
          },
          30_000,
        ).then((ack) => {
          acked++;
          return ack;
        }),
      ),
    );
    await waitFor('the burst under way', () => acked >= 50, 15_000);
    const removal = await api(
      gw[1],
      'DELETE',
      `/api/chats/conversations/${group.id}/members/${target!.user.id}`,
      {
        token: owner!.tokens.access,
      },
    );
    expect(removal.status).toBe(204);
    expect((await burst).every((a) => a.success)).toBe(true);
    await waitFor('the owner has all', () => texts(ownerSocket, group.id).length >= 500, 30_000);
    await sleep(500);
    const log = await cluster.db.sql<{ seq: number }>(
      `SELECT seq FROM messages WHERE conversation_id = $1 AND system->>'action' = 'member_removed'`,
      [group.id],
    );
    const removedAt = log[0]!.seq;
    const got = received(targetSocket, group.id).filter((m) => m.message_type === 'text');
    expect(got.length).toBeGreaterThan(0); // the test means something: some arrived before the removal
    expect(removedAt).toBeLessThan(502); // and some were committed after it
    expect(got.filter((m) => m.seq > removedAt)).toEqual([]);
    expect(new Set(texts(ownerSocket, group.id)).size).toBe(500);
  });
});

describe('unread counts and read receipts', () => {
  it('counts others’ messages only (not system messages), per member, and shows each member’s read mark', async () => {
    const [a, b, c, d] = await users(4, 'unr');
    const group = await createGroup(a!, [b!, c!]);
    for (let i = 0; i < 3; i++) await send(a!, group.id, `a${i}`);
    for (let i = 0; i < 2; i++) await send(b!, group.id, `b${i}`, 1);
    // A system message (a member added) does not count as unread for anyone.
    await api(gw[0], 'POST', `/api/chats/conversations/${group.id}/members`, {
      token: a!.tokens.access,
      body: { user_ids: [d!.user.id] },
    });
    const unreadOf = async (u: AuthResult) =>
      (
        await api<Conversation>(gw[1], 'GET', `/api/chats/conversations/${group.id}`, {
          token: u.tokens.access,
        })
      ).body.unread_count;
    expect([await unreadOf(a!), await unreadOf(b!), await unreadOf(c!), await unreadOf(d!)]).toEqual([
      2, 0, 5, 0,
    ]);

    // c reads up to a's last message (seq 4), in a room where b listens.
    const bSocket = await socketOf(b!, 0);
    await join(bSocket, b!, group.id);
    const read = await api(gw[1], 'POST', `/api/chats/conversations/${group.id}/read`, {
      token: c!.tokens.access,
      body: { seq: 4 },
    });
    expect(read.body).toEqual({ conversationId: group.id, seq: 4 });
    await bSocket.wait('messages-read');
    expect(bSocket.of('messages-read')).toContainEqual({
      conversationId: group.id,
      userId: c!.user.id,
      seq: 4,
    });
    expect(await unreadOf(c!)).toBe(2);
    const receipts = Object.fromEntries(
      (await members(d!, group.id)).map((m) => [m.user.id, m.last_read_seq]),
    );
    expect(receipts).toEqual({ [a!.user.id]: 4, [b!.user.id]: 6, [c!.user.id]: 4, [d!.user.id]: 7 });

    // Over all of c's conversations: the group's 2 and a direct conversation's 2.
    const direct = await conversationBetween(gw[0], a!, c!);
    await send(a!, direct.id, 'd1');
    await send(a!, direct.id, 'd2');
    const summary = await api(gw[0], 'GET', '/api/chats/unread', { token: c!.tokens.access });
    expect(summary.body).toEqual({ total_unread: 4, unread_conversations: 2 });
    expect((await api(gw[0], 'GET', '/api/chats/unread', { token: d!.tokens.access })).body).toEqual({
      total_unread: 0,
      unread_conversations: 0,
    });
  });
});

describe('blocking and muting', () => {
  it('a block stops new direct conversations and messages either way, but not groups; unblocking restores them', async () => {
    const [a, b, c] = await users(3, 'blk');
    const direct = await conversationBetween(gw[0], a!, b!);
    const group = await createGroup(c!, [a!, b!]);
    expect(
      (await api(gw[0], 'PUT', `/api/users/${b!.user.id}/block`, { token: a!.tokens.access })).status,
    ).toBe(204);
    expect(
      (await api(gw[1], 'PUT', `/api/users/${b!.user.id}/block`, { token: a!.tokens.access })).status,
    ).toBe(204); // idempotent
    const blocks = await api(gw[1], 'GET', '/api/users/me/blocks', { token: a!.tokens.access });
    expect(blocks.body.users.map((u: { id: number }) => u.id)).toEqual([b!.user.id]);
    expect(await send(b!, direct.id, 'hi')).toMatchObject({
      status: 403,
      body: { message: 'You cannot message this user' },
    });
    expect((await send(a!, direct.id, 'hi')).status).toBe(403);
    const bSocket = await socketOf(b!, 1);
    const refused = await request(bSocket.socket, 'send-message', {
      sender_id: b!.user.id,
      conversation_id: direct.id,
      message_type: 'text',
      content: 'hi',
      client_message_id: 'blocked-1',
    });
    expect(refused).toEqual({ success: false, error: 'You cannot message this user' });
    expect(await bSocket.wait('message-error')).toContainEqual({
      error: 'You cannot message this user',
      client_message_id: 'blocked-1',
    });
    expect((await send(b!, group.id, 'groups are not affected')).status).toBe(201);

    // No new direct conversation with someone who blocked you, either way.
    const [d] = await users(1, 'blk2');
    await api(gw[0], 'PUT', `/api/users/${a!.user.id}/block`, { token: d!.tokens.access });
    expect(
      await api(gw[1], 'POST', '/api/chats/conversations', {
        token: a!.tokens.access,
        body: { receiver_id: d!.user.id },
      }),
    ).toMatchObject({ status: 403, body: { message: 'You cannot message this user' } });

    expect(
      (await api(gw[0], 'DELETE', `/api/users/${b!.user.id}/block`, { token: a!.tokens.access })).status,
    ).toBe(204);
    expect((await send(b!, direct.id, 'friends again')).status).toBe(201);
    expect(
      (await api(gw[0], 'PUT', `/api/users/${a!.user.id}/block`, { token: a!.tokens.access })).status,
    ).toBe(400);
    expect((await api(gw[0], 'PUT', `/api/users/999999999/block`, { token: a!.tokens.access })).status).toBe(
      404,
    );
  });

  it('hides presence and typing between blocked users across instances, but not typing in a shared group', async () => {
    const [a, b, c] = await users(3, 'hid');
    const direct = await conversationBetween(gw[0], a!, b!);
    const group = await createGroup(c!, [a!, b!]);
    const aSocket = await socketOf(a!, 0);
    const b1 = await socketOf(b!, 1);
    await waitFor('a sees b online', () =>
      aSocket.of<{ userId: number }>('user:online').some((e) => e.userId === b!.user.id),
    );

    await api(gw[1], 'PUT', `/api/users/${a!.user.id}/block`, { token: b!.tokens.access });
    await waitFor('a sees b go', () =>
      aSocket.of<{ userId: number }>('user:offline').some((e) => e.userId === b!.user.id),
    );
    aSocket.clear();
    // b connects a second device and goes away entirely: a hears nothing of it.
    const b2 = await socketOf(b!, 0);
    b1.socket.close();
    b2.socket.close();
    await join(aSocket, a!, direct.id);
    await join(aSocket, a!, group.id);
    const bAgain = await socketOf(b!, 1);
    await join(bAgain, b!, direct.id);
    await join(bAgain, b!, group.id);
    const typingDirect = await request(bAgain.socket, 'typing', {
      conversationId: direct.id,
      userId: b!.user.id,
      isTyping: true,
    });
    expect(typingDirect).toEqual({ success: false, error: 'You cannot message this user' });
    const typingGroup = await request(bAgain.socket, 'typing', {
      conversationId: group.id,
      userId: b!.user.id,
      isTyping: true,
    });
    expect(typingGroup).toMatchObject({ success: true });
    await aSocket.wait('user-typing');
    await sleep(500);
    const presence = [
      ...aSocket.of<{ userId: number }>('user:online'),
      ...aSocket.of<{ userId: number }>('user:offline'),
    ];
    expect(presence.filter((e) => e.userId === b!.user.id)).toEqual([]);
    expect(aSocket.of<{ conversationId: number }>('user-typing').map((e) => e.conversationId)).toEqual([
      group.id,
    ]);
  });

  it('mutes a conversation for the caller only, with or without an end, still counting unread', async () => {
    const [a, b] = await users(2, 'mut');
    const direct = await conversationBetween(gw[0], a!, b!);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const muted = await api<Conversation>(gw[0], 'PUT', `/api/chats/conversations/${direct.id}/mute`, {
      token: a!.tokens.access,
      body: { until },
    });
    expect(muted).toMatchObject({ status: 200, body: { muted: true, muted_until: until } });
    await send(b!, direct.id, 'still counts');
    const mine = await api<Conversation>(gw[1], 'GET', `/api/chats/conversations/${direct.id}`, {
      token: a!.tokens.access,
    });
    expect(mine.body).toMatchObject({ muted: true, muted_until: until, unread_count: 1 });
    const theirs = await api<Conversation>(gw[1], 'GET', `/api/chats/conversations/${direct.id}`, {
      token: b!.tokens.access,
    });
    expect(theirs.body).toMatchObject({ muted: false, muted_until: null });
    const forever = await api(gw[0], 'PUT', `/api/chats/conversations/${direct.id}/mute`, {
      token: a!.tokens.access,
    });
    expect(forever.body).toMatchObject({ muted: true, muted_until: null });
    expect(
      (await api(gw[0], 'DELETE', `/api/chats/conversations/${direct.id}/mute`, { token: a!.tokens.access }))
        .status,
    ).toBe(204);
    const after = await api<Conversation>(gw[1], 'GET', `/api/chats/conversations/${direct.id}`, {
      token: a!.tokens.access,
    });
    expect(after.body).toMatchObject({ muted: false, muted_until: null });
    const past = await api(gw[0], 'PUT', `/api/chats/conversations/${direct.id}/mute`, {
      token: a!.tokens.access,
      body: { until: '2020-01-01T00:00:00.000Z' },
    });
    expect(past).toMatchObject({ status: 400, body: { message: 'until must be a time in the future' } });
    const [stranger] = await users(1, 'mutx');
    expect(
      (
        await api(gw[0], 'PUT', `/api/chats/conversations/${direct.id}/mute`, {
          token: stranger!.tokens.access,
        })
      ).status,
    ).toBe(403);
  });
});

describe('bad input', () => {
  it('answers unknown members, oversized groups and malformed bodies with clear errors and stores nothing', async () => {
    const [a, b] = await users(2, 'bad');
    const create = (body: unknown) =>
      api(gw[0], 'POST', '/api/chats/conversations', { token: a!.tokens.access, body });
    const before = await cluster.db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM conversations`);
    expect(await create({ type: 'group', title: 'x', member_ids: [b!.user.id, 999_999_999] })).toMatchObject({
      status: 404,
      body: { message: 'User not found' },
    });
    const many = await users(40, 'big');
    expect(await create({ type: 'group', title: 'x', member_ids: many.map((u) => u.user.id) })).toMatchObject(
      {
        status: 400,
        body: { message: 'A group has too many members' },
      },
    );
    expect(await create({ type: 'group', member_ids: [b!.user.id] })).toMatchObject({ status: 400 });
    expect(await create({ type: 'group', title: '', member_ids: [] })).toMatchObject({
      status: 400,
      body: { message: ['title must be longer than or equal to 1 characters'] },
    });
    expect(await create({ type: 'group', title: 'x', member_ids: 'all' })).toMatchObject({ status: 400 });
    expect(await create({ type: 'group', title: 'x', member_ids: [], metadata: [1] })).toMatchObject({
      status: 400,
      body: { message: ['metadata must be a JSON object'] },
    });
    expect(
      await create({ type: 'group', title: 'x', member_ids: [], metadata: { a: { b: { c: { d: 1 } } } } }),
    ).toMatchObject({ status: 400, body: { message: ['metadata must be at most 3 levels deep'] } });
    expect(
      await create({ type: 'group', title: 'x', member_ids: [], metadata: { big: 'x'.repeat(3000) } }),
    ).toMatchObject({ status: 400, body: { message: ['metadata must be at most 2048 bytes as JSON'] } });
    expect(await create({ receiver_id: b!.user.id, title: 'not for direct' })).toMatchObject({ status: 400 });
    expect(await create({ type: 'channel', receiver_id: b!.user.id })).toMatchObject({ status: 400 });
    const after = await cluster.db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM conversations`);
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});
