import type { AuthResult, Message } from '@parley/contracts/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, registerUser, sleep, TcpProxy, waitFor } from '@parley/testing';
// Relative until tsconfig.json maps @parley/client.
import {
  ParleyApiError,
  ParleyClient,
  ParleyRest,
  ParleySendError,
  type ParleyClientOptions,
} from '../../libs/client/src/index.js';

// Groups, blocks and mutes through the SDK, against 2 real gateways, a real chats service, Postgres and Redis.
let cluster: Cluster;
let gw: [string, string];
const clients: ParleyClient[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 2, chats: 1 });
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

const restOf = (user: AuthResult, url = gw[0]) =>
  new ParleyRest({ baseUrl: url, getToken: () => user.tokens.access });

function record(client: ParleyClient): Message[] {
  const messages: Message[] = [];
  client.on('message', (m) => messages.push(m));
  return messages;
}

describe('ParleyRest: groups, members, unread, mutes, blocks against the gateway', () => {
  it('every call does what the contract says', async () => {
    const [owner, bob, carol, dave] = await Promise.all([
      registerUser(gw[0], 'gown'),
      registerUser(gw[0], 'gbob'),
      registerUser(gw[0], 'gcar'),
      registerUser(gw[0], 'gdav'),
    ]);
    const rest = restOf(owner);
    const group = await rest.createGroup({
      title: 'Trip',
      member_ids: [bob.user.id, carol.user.id],
      metadata: { topic: 'x' },
    });
    expect(group).toMatchObject({
      type: 'group',
      title: 'Trip',
      member_count: 3,
      my_role: 'owner',
      receiver_id: null,
      metadata: { topic: 'x' },
      muted: false,
    });

    const firstPage = await rest.members(group.id, { limit: 2 });
    expect(firstPage.members).toHaveLength(2);
    expect(firstPage.next_cursor).not.toBeNull();
    const all = await rest.allMembers(group.id, 2);
    expect(all.map((m) => [m.user.id, m.role])).toEqual(
      [
        [owner.user.id, 'owner'],
        [bob.user.id, 'member'],
        [carol.user.id, 'member'],
      ].sort((a, b) => Number(a[0]) - Number(b[0])),
    );

    expect(await rest.addMembers(group.id, [dave.user.id, bob.user.id])).toEqual({ added: [dave.user.id] });
    expect(await rest.setRole(group.id, bob.user.id, 'admin')).toMatchObject({
      id: group.id,
      my_role: 'owner',
    });
    expect(await rest.updateGroup(group.id, { title: 'Trip 2' })).toMatchObject({ title: 'Trip 2' });
    await restOf(bob).removeMember(group.id, dave.user.id); // an admin removes a member
    await restOf(carol).removeMember(group.id, carol.user.id); // leaving
    await expect(restOf(carol).conversation(group.id)).rejects.toMatchObject({ status: 403 });
    const left = await rest.allMembers(group.id);
    expect(left.map((m) => m.user.id).sort()).toEqual([owner.user.id, bob.user.id].sort());
    const history = await rest.messages(group.id, { after_seq: 0, limit: 100 });
    expect(history.messages.map((m) => m.system?.action)).toEqual([
      'created',
      'member_added',
      'role_changed',
      'group_updated',
      'member_removed',
      'member_left',
    ]);

    await restOf(bob).sendMessage(group.id, { message_type: 'text', content: 'hi' });
    expect(await rest.unread()).toEqual({ total_unread: 1, unread_conversations: 1 });

    const until = new Date(Date.now() + 3_600_000);
    expect(await rest.mute(group.id, until)).toMatchObject({ muted: true, muted_until: until.toISOString() });
    expect(await rest.mute(group.id)).toMatchObject({ muted: true, muted_until: null });
    await rest.unmute(group.id);
    expect(await rest.conversation(group.id)).toMatchObject({ muted: false, unread_count: 1 });

    await rest.block(carol.user.id);
    expect((await rest.blocks()).users.map((u) => u.id)).toEqual([carol.user.id]);
    await expect(restOf(carol).createConversation(owner.user.id)).rejects.toMatchObject({
      status: 403,
      message: 'You cannot message this user',
    });
    await rest.unblock(carol.user.id);
    expect((await rest.blocks()).users).toEqual([]);
    await expect(restOf(carol).createConversation(owner.user.id)).resolves.toMatchObject({ type: 'direct' });
  });
});

describe('ParleyClient in a group, three users on two gateways', () => {
  it('createGroup by usernames, messages once each, seen by, unread without system messages, a member removed', async () => {
    const [alice, bob, carol] = await Promise.all([
      registerUser(gw[0], 'ga'),
      registerUser(gw[1], 'gb'),
      registerUser(gw[1], 'gc'),
    ]);
    const a = open(alice, gw[0]);
    const b = open(bob, gw[1]);
    const c = open(carol, gw[1]);
    const [am, bm, cm] = [record(a), record(b), record(c)];
    const removed: number[] = [];
    c.on('conversationRemoved', (e) => removed.push(e.conversationId));
    const updatesOfB: number[] = [];
    b.on('conversation', (conversation) => updatesOfB.push(conversation.id));
    await Promise.all([a.connect(), b.connect(), c.connect()]);

    await expect(
      a.createGroup({ title: 'x', usernames: [bob.user.username, 'nobody_by_this_name'] }),
    ).rejects.toMatchObject({ status: 404, message: 'User not found: nobody_by_this_name' });
    const group = await a.createGroup({
      title: 'Weekend',
      usernames: [bob.user.username, carol.user.username.toUpperCase(), alice.user.username],
    });
    expect(group).toMatchObject({ type: 'group', member_count: 3 });
    await waitFor('bob hears of the group', () => updatesOfB.includes(group.id));
    await Promise.all([a.join(group.id), b.join(group.id), c.join(group.id)]);
    await waitFor('the created message everywhere', () => [am, bm, cm].every((l) => l.length === 1));
    expect(am[0]).toMatchObject({ seq: 1, message_type: 'system', system: { action: 'created' } });

    const sent = [
      await a.send(group.id, 'from alice'),
      await b.send(group.id, 'from bob'),
      await a.send(group.id, 'alice again'),
    ];
    await waitFor('3 more everywhere', () => [am, bm, cm].every((l) => l.length === 4));
    await sleep(200);
    for (const list of [am, bm, cm]) expect(list.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(cm.slice(1)).toEqual(sent);
    await waitFor('carol: 3 unread', () => c.unreadCount(group.id) === 3);

    // seen by: the members' receipts, then the reads as they come
    await a.members(group.id);
    expect(a.seenBy(group.id, 3)).toEqual([bob.user.id]); // his own message
    await c.markRead(group.id);
    await waitFor('carol has read', () => a.seenBy(group.id, 4).includes(carol.user.id));
    expect(a.seenBy(group.id, 4)).toEqual([carol.user.id]);
    expect(a.seenBy(group.id, 3)).toEqual([bob.user.id, carol.user.id].sort((x, y) => x - y));

    // a system message does not count as unread (the server agrees)
    const bRest = restOf(bob, gw[1]);
    await restOf(alice).updateGroup(group.id, { title: 'Weekend!' });
    await waitFor('bob gets the system message', () => bm.length === 5);
    await sleep(300);
    expect(b.unreadCount(group.id)).toBe((await bRest.conversation(group.id)).unread_count);
    expect(b.unreadCount(group.id)).toBe(1); // "alice again"; the title change does not count

    // carol is removed on the other gateway: her client drops the group and gets nothing more of it
    await restOf(alice).removeMember(group.id, carol.user.id);
    await waitFor('carol is removed', () => removed.length === 1);
    expect(removed).toEqual([group.id]);
    expect(c.conversations).not.toContain(group.id);
    expect(c.unreadCount(group.id)).toBeUndefined();
    await a.send(group.id, 'without carol');
    await waitFor('bob gets it', () => bm.some((m) => m.content === 'without carol'));
    await sleep(300);
    expect(cm).toHaveLength(5);
    const error = await c.send(group.id, 'let me back').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleySendError);
    expect(a.seenBy(group.id, 3)).toEqual([bob.user.id]); // carol is not among them any more
  });

  it('removed while disconnected: the re-join after the reconnect is refused, and the client drops the group', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'go'), registerUser(gw[1], 'gr')]);
    const group = await restOf(alice).createGroup({ title: 'Away', member_ids: [bob.user.id] });
    const proxy = await new TcpProxy('127.0.0.1', cluster.gateways[1]!.port).start();
    proxies.push(proxy);
    const b = open(bob, `http://127.0.0.1:${proxy.port}`);
    const removed: number[] = [];
    const errors: Error[] = [];
    b.on('conversationRemoved', (e) => removed.push(e.conversationId));
    b.on('error', (e) => errors.push(e));
    await b.connect();
    await b.join(group.id);
    proxy.cut();
    await waitFor('bob is disconnected', () => !b.connected);
    await restOf(alice).removeMember(group.id, bob.user.id);
    proxy.restore();
    await waitFor('bob drops the group', () => removed.length === 1, 15_000);
    expect(b.conversations).toEqual([]);
    expect(errors.filter((e) => /Unauthorized to join/.test(e.message))).toEqual([]);
  });

  it('leaveGroup(): the group is dropped at once, and the others see the member_left message', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'gl'), registerUser(gw[1], 'gm')]);
    const group = await restOf(alice).createGroup({ title: 'Leaving', member_ids: [bob.user.id] });
    const a = open(alice, gw[0]);
    const b = open(bob, gw[1]);
    const am = record(a);
    const removed: number[] = [];
    b.on('conversationRemoved', (e) => removed.push(e.conversationId));
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all([a.join(group.id), b.join(group.id)]);
    await b.leaveGroup(group.id);
    expect(removed).toEqual([group.id]);
    await waitFor('alice sees him leave', () => am.some((m) => m.system?.action === 'member_left'));
    await sleep(300);
    expect(removed).toEqual([group.id]); // the server's conversation-removed is not raised again
    await expect(restOf(bob, gw[1]).conversation(group.id)).rejects.toBeInstanceOf(ParleyApiError);
  });
});
