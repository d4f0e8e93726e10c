import type { AuthResult, Message } from '@parley/contracts/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, registerUser, sleep, TcpProxy, waitFor } from '@parley/testing';
// Relative until tsconfig.json maps @parley/client.
import {
  ParleyChangeError,
  ParleyClient,
  ParleyRest,
  type MessageUpdate,
  type ParleyClientOptions,
} from '../../libs/client/src/index.js';

// The message lifecycle through the SDK (edits, deletions, reactions, replies, attachments, and the catch-up by
// version after being offline) against 2 real gateways, a real chats service, Postgres and Redis. Rate limits are
// raised so that the catch-up test can make more changes than a re-join's catch-up holds.
let cluster: Cluster;
let gw: [string, string];
const clients: ParleyClient[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 1,
    gatewayEnv: {
      RATE_LIMIT_MESSAGES_PER_SECOND: '1000',
      RATE_LIMIT_MESSAGES_BURST: '1000',
      RATE_LIMIT_MESSAGE_CHANGES_PER_SECOND: '1000',
      RATE_LIMIT_MESSAGE_CHANGES_BURST: '1000',
    },
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

const restOf = (user: AuthResult, url = gw[0]) =>
  new ParleyRest({ baseUrl: url, getToken: () => user.tokens.access });

function record(client: ParleyClient): Message[] {
  const messages: Message[] = [];
  client.on('message', (m) => messages.push(m));
  return messages;
}

function updates(client: ParleyClient): MessageUpdate[] {
  const list: MessageUpdate[] = [];
  client.on('messageUpdated', (u) => list.push(u));
  return list;
}

/** What the client's store says of a message matches what the server says now (REST, with my_reactions). */
async function storeMatchesServer(client: ParleyClient, user: AuthResult, conversationId: number) {
  const all: Message[] = [];
  for (let more = true; more;) {
    const page = await restOf(user).messages(conversationId, { after_seq: all.length, limit: 100 });
    all.push(...page.messages);
    more = page.has_more;
  }
  for (const m of all) {
    const { my_reactions: mine, ...state } = m;
    const stored = client.message(conversationId, m.id);
    expect(stored && { ...stored, my_reactions: undefined }, `message ${m.seq}`).toEqual({
      ...state,
      my_reactions: undefined,
    });
    expect([...client.myReactions(conversationId, m.id)].sort(), `my reactions to ${m.seq}`).toEqual(
      [...(mine ?? [])].sort(),
    );
  }
}

describe('ParleyClient: edits, deletions, reactions and replies on two gateways', () => {
  it('each change is answered, raised once on both sides, and the store ends as the server is', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'lca'), registerUser(gw[1], 'lcb')]);
    const { id } = await restOf(alice).createConversation(bob.user.id);
    const a = open(alice, gw[0]);
    const b = open(bob, gw[1]);
    const [am, bm] = [record(a), record(b)];
    const [au, bu] = [updates(a), updates(b)];
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all([a.join(id), b.join(id)]);

    // A reply with an attachment and metadata
    const first = await a.send(id, 'Hello Bob', { metadata: { topic: 'greeting' } });
    const image = {
      type: 'image' as const,
      url: 'https://example.com/cat.png',
      name: 'cat.png',
      width: 64,
      height: 48,
    };
    const reply = await b.send(id, '', { replyTo: first.id, attachments: [image] });
    expect(first).toMatchObject({ metadata: { topic: 'greeting' }, reply_to_id: null, reactions: [] });
    expect(reply).toMatchObject({ content: '', reply_to_id: first.id, attachments: [image], metadata: {} });
    await waitFor('both messages on both sides', () => am.length === 2 && bm.length === 2);
    expect(am[1]).toMatchObject({ id: reply.id, reply_to_id: first.id, attachments: [image] });
    await expect(a.send(id, 'x', { replyTo: 999_999_999 })).rejects.toThrow(
      'reply_to_id must be a message of this conversation',
    );

    // Edit: the author only
    const edited = await a.editMessage(id, first.id, 'Hello, Bob');
    expect(edited.edited_at).not.toBeNull();
    expect(edited.version).toBeGreaterThan(first.version);
    await waitFor('bob sees the edit', () => bu.some((u) => u.change?.kind === 'edited'));
    expect(bu.find((u) => u.change?.kind === 'edited')).toMatchObject({
      message: { id: first.id, content: 'Hello, Bob' },
      previous: { content: 'Hello Bob' },
      change: { kind: 'edited', user_id: alice.user.id },
    });
    const notYours = await b.editMessage(id, first.id, 'Hello, Alice').catch((e: unknown) => e);
    expect(notYours).toBeInstanceOf(ParleyChangeError);
    expect((notYours as Error).message).toBe('Only the author can edit this message');

    // Reactions: counts for both, each one's own for each
    await b.react(id, first.id, '👍');
    // (Else alice's own answer, a later version, could overtake the broadcast: nothing to raise then.)
    await waitFor("alice sees bob's reaction", () => a.message(id, first.id)?.reactions.length === 1);
    await a.react(id, first.id, '👍');
    await a.react(id, first.id, '🎉');
    const counts = (c: ParleyClient) => c.message(id, first.id)?.reactions;
    const expected = [
      { emoji: '👍', count: 2 },
      { emoji: '🎉', count: 1 },
    ];
    await waitFor('both see the counts', () =>
      [a, b].every((c) => JSON.stringify(counts(c)) === JSON.stringify(expected)),
    );
    expect(a.myReactions(id, first.id)).toEqual(['👍', '🎉']);
    expect(b.myReactions(id, first.id)).toEqual(['👍']);
    expect(au.filter((u) => u.change?.kind === 'reaction_added').map((u) => u.change?.user_id)).toEqual([
      bob.user.id,
      alice.user.id,
      alice.user.id,
    ]);

    // A change that changes nothing: answered with the message as it is, raised nowhere
    await sleep(300);
    const before = [au.length, bu.length];
    const again = await b.react(id, first.id, '👍');
    expect(again.version).toBe(a.message(id, first.id)?.version);
    await b.unreact(id, reply.id, '🎉'); // not there
    await sleep(500);
    expect([au.length, bu.length]).toEqual(before);

    await b.unreact(id, first.id, '👍');
    await waitFor('alice sees it go', () => counts(a)?.find((r) => r.emoji === '👍')?.count === 1);
    expect(b.myReactions(id, first.id)).toEqual([]);

    // Delete: a tombstone in its place, which takes no edit and no reaction; a second delete changes nothing
    const tombstone = await a.deleteMessage(id, first.id);
    expect(tombstone).toMatchObject({
      id: first.id,
      seq: first.seq,
      content: '',
      reactions: [],
      metadata: {},
    });
    expect(tombstone.deleted_at).not.toBeNull();
    await waitFor('bob sees the deletion', () => Boolean(b.message(id, first.id)?.deleted_at));
    expect(bu.at(-1)).toMatchObject({ change: { kind: 'deleted', user_id: alice.user.id }, myReactions: [] });
    await expect(b.react(id, first.id, '👍')).rejects.toThrow('Message not found');
    await expect(a.editMessage(id, first.id, 'back')).rejects.toThrow('Message not found');
    expect((await a.deleteMessage(id, first.id)).version).toBe(tombstone.version);
    await expect(b.deleteMessage(id, first.id)).rejects.toThrow('Not allowed'); // not his, not a group

    // Never an older state after a newer one, and both stores as the server has them
    await sleep(300);
    for (const list of [au, bu]) {
      for (const messageId of [first.id, reply.id]) {
        const versions = list.filter((u) => u.message.id === messageId).map((u) => u.message.version);
        expect(versions).toEqual([...new Set(versions)].sort((x, y) => x - y));
      }
    }
    await storeMatchesServer(a, alice, id);
    await storeMatchesServer(b, bob, id);
    const { version } = await restOf(bob).conversation(id);
    expect(a.version(id)).toBe(version);
    expect(b.version(id)).toBe(version);
    expect(am.map((m) => m.id)).toEqual([first.id, reply.id]); // changes are not new messages
  });

  it("in a group, the owner deletes a member's message; a member may not delete the owner's", async () => {
    const [owner, member] = await Promise.all([registerUser(gw[0], 'lco'), registerUser(gw[1], 'lcm')]);
    const group = await restOf(owner).createGroup({ title: 'Moderated', member_ids: [member.user.id] });
    const o = open(owner, gw[0]);
    const m = open(member, gw[1]);
    const mu = updates(m);
    await Promise.all([o.connect(), m.connect()]);
    await Promise.all([o.join(group.id), m.join(group.id)]);
    const theirs = await m.send(group.id, 'spam');
    const mine = await o.send(group.id, 'rules');
    await expect(m.deleteMessage(group.id, mine.id)).rejects.toThrow('Not allowed');
    const tombstone = await o.deleteMessage(group.id, theirs.id);
    expect(tombstone.deleted_at).not.toBeNull();
    await waitFor('the member sees it', () => mu.some((u) => u.change?.kind === 'deleted'));
    expect(mu.find((u) => u.change?.kind === 'deleted')).toMatchObject({
      message: { id: theirs.id, content: '' },
      change: { user_id: owner.user.id },
    });
  });
});

describe('ParleyClient: the catch-up by version after being offline', () => {
  it('re-joins with since_version: changes made meanwhile come as messageUpdated, new messages as message, paged over REST', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'lva'), registerUser(gw[1], 'lvb')]);
    const { id } = await restOf(alice).createConversation(bob.user.id);
    const proxy = await new TcpProxy('127.0.0.1', cluster.gateways[1]!.port).start();
    proxies.push(proxy);
    const a = open(alice, gw[0]);
    const b = open(bob, `http://127.0.0.1:${proxy.port}`);
    const bm = record(b);
    const bu = updates(b);
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all([a.join(id), b.join(id)]);
    const [m1, m2, m3] = [await a.send(id, 'one'), await a.send(id, 'two'), await a.send(id, 'three')];
    await b.react(id, m1.id, '👍');
    await waitFor('bob has all three', () => bm.length === 3);
    const seenBefore = bu.length;

    proxy.cut();
    await waitFor('bob is offline', () => !b.connected);
    const aliceRest = restOf(alice);
    const bobElsewhere = restOf(bob, gw[0]); // bob on another device
    await a.editMessage(id, m1.id, 'one, edited');
    await a.deleteMessage(id, m2.id);
    await a.react(id, m3.id, '😂');
    await bobElsewhere.removeReaction(id, m1.id, '👍');
    await bobElsewhere.addReaction(id, m3.id, '🔥');
    // More new messages than a re-join's catch-up holds (100): the rest comes over REST, by version
    const sent: Message[] = [];
    for (let i = 0; i < 105; i++) {
      sent.push(await aliceRest.sendMessage(id, { message_type: 'text', content: `offline ${i}` }));
    }
    await a.editMessage(id, sent[0]!.id, 'offline 0, edited'); // changed after it was sent: comes once, edited

    proxy.restore();
    await waitFor('bob caught up', () => bm.length === 3 + 105, 30_000);
    expect(bm.map((m) => m.seq)).toEqual(Array.from({ length: 108 }, (_, i) => i + 1));
    expect(bm[3]).toMatchObject({ id: sent[0]!.id, content: 'offline 0, edited' });
    const caughtUp = bu.slice(seenBefore);
    const byId = new Map(caughtUp.map((u) => [u.message.id, u]));
    expect(byId.get(m1.id)).toMatchObject({
      message: { content: 'one, edited', reactions: [] },
      myReactions: [],
    });
    expect(byId.get(m1.id)?.change).toBeUndefined(); // a catch-up does not say what changed
    expect(byId.get(m2.id)?.message.deleted_at).not.toBeNull();
    expect(
      byId
        .get(m3.id)
        ?.message.reactions.map((r) => r.emoji)
        .sort(),
    ).toEqual(['🔥', '😂'].sort());
    expect(byId.get(m3.id)?.myReactions).toEqual(['🔥']);
    // each change once, and not for the new messages (they came as `message`, in their newest state)
    expect(caughtUp.map((u) => u.message.id).sort()).toEqual([m1.id, m2.id, m3.id].sort());
    const { version } = await restOf(bob).conversation(id);
    await waitFor('bob at the latest version', () => b.version(id) === version);
    await storeMatchesServer(b, bob, id);

    // and live again
    await a.react(id, sent[104]!.id, '✅');
    await waitFor('live after the catch-up', () => b.message(id, sent[104]!.id)?.reactions.length === 1);
  });
});
