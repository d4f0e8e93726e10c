import { ErrorMessages, type Message } from '@parley/contracts/wire';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScriptedGateway } from '../test/scripted-gateway.js';
import { ParleyChangeError } from './changes.js';
import { ParleyClient, type MessageUpdate, type ParleyClientOptions } from './client.js';

// The message lifecycle in the client: edits, deletions and reactions (sent, answered, broadcast), the store of
// each message's newest state and of your reactions, and the catch-up by version (on re-join, and when a version
// does not come). Against the ScriptedGateway, a real Socket.IO server (the real gateway:
// test/client/lifecycle.e2e-spec.ts).

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
    gapTimeoutMs: 2_000,
    versionGapMs: 150,
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

function updates(c: ParleyClient): MessageUpdate[] {
  const list: MessageUpdate[] = [];
  c.on('messageUpdated', (u) => list.push(u));
  return list;
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** User 2 alone in conversation 5, joined (the gateway makes user 1's changes), so REST calls are all its own. */
async function solo() {
  const b = client(2);
  const [bm, bu] = [record(b), updates(b)];
  await b.connect();
  await b.join(5);
  return { b, bm, bu };
}

/** Two users in conversation 5, both joined. */
async function pair() {
  const a = client(1);
  const b = client(2);
  const [am, bm] = [record(a), record(b)];
  const [au, bu] = [updates(a), updates(b)];
  await Promise.all([a.connect(), b.connect()]);
  await Promise.all([a.join(5), b.join(5)]);
  return { a, b, am, bm, au, bu };
}

describe('ParleyClient: sending with a reply, attachments and metadata', () => {
  it('puts them on the wire, and the message carries them', async () => {
    const { a, bm } = await pair();
    const first = await a.send(5, 'first');
    const attachments = [{ type: 'image' as const, url: 'https://example.com/cat.png', name: 'cat.png' }];
    const reply = await a.send(5, '', { replyTo: first.id, attachments, metadata: { mood: 'happy' } });
    expect(gw.sends[1]).toMatchObject({ reply_to_id: first.id, attachments, metadata: { mood: 'happy' } });
    expect(gw.sends[0]).not.toHaveProperty('reply_to_id');
    expect(reply).toMatchObject({ reply_to_id: first.id, attachments, metadata: { mood: 'happy' } });
    await until('b has both', () => bm.length === 2);
    expect(bm[1]).toEqual(reply);
  });
});

describe('ParleyClient: editing, deleting and reacting', () => {
  it('edits: resolves with the edited message; both sides raise messageUpdated once, with the change', async () => {
    const { a, b, bm, au, bu } = await pair();
    const sent = await a.send(5, 'helo');
    await until('b has it', () => bm.length === 1);
    const edited = await a.editMessage(5, sent.id, 'hello');
    expect(edited).toMatchObject({ id: sent.id, content: 'hello', version: sent.version + 1 });
    expect(edited.edited_at).not.toBeNull();
    await until('b sees the edit', () => bu.length === 1);
    await pause(100); // the broadcast after the answer is not raised again
    for (const list of [au, bu]) {
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({
        conversationId: 5,
        message: { id: sent.id, content: 'hello' },
        previous: { content: 'helo' },
        change: { kind: 'edited', user_id: 1 },
        myReactions: [],
      });
    }
    expect(b.message(5, sent.id)?.content).toBe('hello');
    expect(gw.changes).toEqual([
      { event: 'edit-message', payload: { conversationId: 5, messageId: sent.id, content: 'hello' } },
    ]);
    // Only the author edits
    const refused = await b.editMessage(5, sent.id, 'mine now').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ParleyChangeError);
    expect(refused).toMatchObject({
      message: ErrorMessages.onlyAuthorEdits,
      conversationId: 5,
      messageId: sent.id,
    });
  });

  it('reacts: counts for everyone, your own reactions for you; a repeat changes nothing and raises nothing', async () => {
    const { a, b, bm, au, bu } = await pair();
    const sent = await a.send(5, 'react to me');
    await until('b has it', () => bm.length === 1);
    await b.react(5, sent.id, '👍');
    await until('a sees it', () => au.length === 1);
    expect(au[0]).toMatchObject({
      message: { reactions: [{ emoji: '👍', count: 1 }] },
      change: { kind: 'reaction_added', user_id: 2, emoji: '👍' },
      myReactions: [],
    });
    expect(bu.at(-1)).toMatchObject({ myReactions: ['👍'] });
    expect(b.myReactions(5, sent.id)).toEqual(['👍']);
    expect(a.myReactions(5, sent.id)).toEqual([]);

    await a.react(5, sent.id, '👍');
    await until('b sees 2', () => b.message(5, sent.id)?.reactions[0]?.count === 2);
    expect(a.myReactions(5, sent.id)).toEqual(['👍']);
    await pause(100);
    const [aCount, bCount] = [au.length, bu.length];
    const again = await b.react(5, sent.id, '👍'); // already there: answered as it is, not broadcast
    expect(again.version).toBe(b.message(5, sent.id)?.version);
    await pause(150);
    expect([au.length, bu.length]).toEqual([aCount, bCount]);

    await b.unreact(5, sent.id, '👍');
    await until('a sees 1', () => a.message(5, sent.id)?.reactions[0]?.count === 1);
    expect(b.myReactions(5, sent.id)).toEqual([]);
    expect(au.at(-1)?.change).toEqual({ kind: 'reaction_removed', user_id: 2, emoji: '👍' });
  });

  it('deletes: a tombstone for everyone, which can be neither edited nor reacted to; deleting again changes nothing', async () => {
    const { a, b, bm, bu } = await pair();
    const sent = await a.send(5, 'oops', { attachments: [{ type: 'file', url: 'https://x.example/f' }] });
    await until('b has it', () => bm.length === 1);
    await b.react(5, sent.id, '🎉');
    const tombstone = await a.deleteMessage(5, sent.id);
    expect(tombstone).toMatchObject({ id: sent.id, content: '', attachments: [], reactions: [] });
    expect(tombstone.deleted_at).not.toBeNull();
    await until('b sees the deletion', () => bu.at(-1)?.change?.kind === 'deleted');
    expect(bu.at(-1)).toMatchObject({ message: { deleted_at: tombstone.deleted_at }, myReactions: [] });
    expect(b.myReactions(5, sent.id)).toEqual([]);
    await expect(b.react(5, sent.id, '👍')).rejects.toThrow(ErrorMessages.messageNotFound);
    await expect(a.editMessage(5, sent.id, 'back')).rejects.toThrow(ErrorMessages.messageNotFound);
    expect((await a.deleteMessage(5, sent.id)).version).toBe(tombstone.version);
  });

  it('knows your reactions from your other devices, and from the catch-up of a join', async () => {
    const a = client(1);
    const phone = client(2);
    await Promise.all([a.connect(), phone.connect()]);
    await Promise.all([a.join(5), phone.join(5)]);
    const sent = await a.send(5, 'hi');
    const older = gw.store(5, 1, 'older'); // not broadcast: phone gets it from the next join's catch-up
    gw.react(older.id, 2, '❤️');
    const laptop = client(2);
    const laptopUpdates = updates(laptop);
    await laptop.connect();
    await laptop.join(5);
    expect(laptop.myReactions(5, older.id)).toEqual(['❤️']); // recent-messages carries my_reactions
    await phone.react(5, sent.id, '👍');
    await until('the laptop hears of it', () => laptopUpdates.length === 1);
    expect(laptopUpdates[0]).toMatchObject({ change: { user_id: 2 }, myReactions: ['👍'] });
    expect(laptop.myReactions(5, sent.id)).toEqual(['👍']);
  });

  it('queues changes while disconnected, and tries one again that got no answer (the same request)', async () => {
    const { a, bm } = await pair();
    const sent = await a.send(5, 'x');
    await until('b has it', () => bm.length === 1);
    gw.dropChangeAcks = 1;
    const edited = await a.editMessage(5, sent.id, 'y');
    expect(edited.content).toBe('y');
    expect(gw.changes).toHaveLength(2);
    expect(gw.changes[1]).toEqual(gw.changes[0]);

    gw.dropConnections();
    await until('disconnected', () => !a.connected);
    const queued = [a.react(5, sent.id, '1️⃣'), a.react(5, sent.id, '2️⃣'), a.unreact(5, sent.id, '1️⃣')];
    expect(a.pendingChanges.map((c) => c.event)).toEqual(['react', 'react', 'react']);
    await Promise.all(queued);
    expect(gw.changes.slice(2).map((c) => c.payload)).toEqual([
      { conversationId: 5, messageId: sent.id, emoji: '1️⃣', add: true },
      { conversationId: 5, messageId: sent.id, emoji: '2️⃣', add: true },
      { conversationId: 5, messageId: sent.id, emoji: '1️⃣', add: false },
    ]);
    expect(a.myReactions(5, sent.id)).toEqual(['2️⃣']);
    expect(a.pendingChanges).toEqual([]);
  });

  it('retries a change refused for now; rejects pending changes on close()', async () => {
    const { a, bm } = await pair();
    const sent = await a.send(5, 'x');
    await until('b has it', () => bm.length === 1);
    gw.refuse.react.push(ErrorMessages.rateLimited, ErrorMessages.serviceBusy);
    await a.react(5, sent.id, '👍');
    expect(gw.changes).toHaveLength(3);
    gw.dropConnections();
    await until('disconnected', () => !a.connected);
    const pending = a.react(5, sent.id, '👀');
    a.close();
    await expect(pending).rejects.toThrow(/closed/);
  });
});

describe('ParleyClient: the newest state of each message', () => {
  it('ignores an update older than the one it has (broadcasts crossing), and delivers a message in its newest state', async () => {
    gw.silentBroadcast = true;
    const { b, bm, bu } = await solo();
    const m = gw.store(5, 1, 'v1');
    gw.deliver(m);
    await until('b has it', () => bm.length === 1);
    const first = gw.editMessage(m.id, 1, 'v2');
    const second = gw.editMessage(m.id, 1, 'v3');
    gw.deliverUpdate(second);
    gw.deliverUpdate(first);
    await until('b sees an edit', () => bu.length === 1);
    await pause(100);
    expect(bu.map((u) => u.message.content)).toEqual(['v3']);
    expect(b.message(5, m.id)?.content).toBe('v3');

    // An edit that arrives before its message: the message is delivered edited, and no update is raised for it
    const late = gw.store(5, 1, 'draft');
    gw.deliverUpdate(gw.editMessage(late.id, 1, 'final'));
    await until('b has the second message', () => bm.length === 2);
    gw.deliver(late);
    await pause(100);
    expect(bm.map((x) => x.content)).toEqual(['v1', 'final']);
    expect(bu).toHaveLength(1);
    expect(gw.restCalls).toEqual([]);
  });

  it('history(): pages are stored with your reactions, in the newest state known', async () => {
    const c = client(2);
    const cu = updates(c);
    await c.connect();
    const old = ['a', 'b', 'c'].map((t) => gw.store(5, 1, t));
    gw.react(old[0]!.id, 2, '👍');
    for (const t of ['d', 'e']) gw.store(5, 1, t);
    await c.join(5); // delivery starts at seq 1 (all 5 are recent)
    expect(c.myReactions(5, old[0]!.id)).toEqual(['👍']);
    gw.react(old[1]!.id, 2, '🔥'); // broadcast: c is in the room
    await until('the reaction', () => cu.length === 1);
    const page = await c.history(5, { before_seq: 4, limit: 10 });
    expect(page.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(page.messages[1]?.reactions).toEqual([{ emoji: '🔥', count: 1 }]);
    expect(c.myReactions(5, old[1]!.id)).toEqual(['🔥']);
    expect(cu).toHaveLength(1); // nothing in the page was newer than what the client had
    expect(gw.restCalls).toEqual(['GET /api/chats/conversations/5/messages?before_seq=4&limit=10']);
  });
});

describe('ParleyClient: catching up by version', () => {
  it('catches up over REST (after_version) when a version does not come within versionGapMs', async () => {
    gw.silentBroadcast = true;
    const { b, bm, bu } = await solo();
    const [m1, m2] = [gw.store(5, 1, 'one'), gw.store(5, 1, 'two')];
    gw.deliver(m1);
    gw.deliver(m2);
    await until('b has both', () => bm.length === 2);
    expect(b.version(5)).toBe(2);
    gw.editMessage(m1.id, 1, 'one!'); // version 3: never comes live
    gw.deliverUpdate(gw.react(m2.id, 1, '👍')); // version 4
    await until('both changes', () => bu.length === 2);
    expect(gw.restCalls).toEqual(['GET /api/chats/conversations/5/messages?after_version=2&limit=100']);
    expect(bu[0]).toMatchObject({ change: { kind: 'reaction_added' }, message: { id: m2.id } });
    expect(bu[1]).toMatchObject({ message: { id: m1.id, content: 'one!' } });
    expect(bu[1]).not.toHaveProperty('change'); // a catch-up does not say what changed
    expect(b.version(5)).toBe(4);
  });

  it('waits for a version that comes late (no REST), and catches up on one that conversation-updated told of', async () => {
    gw.silentBroadcast = true;
    const { b, bm, bu } = await solo();
    const m1 = gw.store(5, 1, 'one');
    gw.deliver(m1);
    await until('b has it', () => bm.length === 1);
    const e2 = gw.editMessage(m1.id, 1, 'two');
    const e3 = gw.editMessage(m1.id, 1, 'three');
    gw.deliverUpdate(e3);
    await pause(50);
    gw.deliverUpdate(e2);
    await pause(300);
    expect(gw.restCalls).toEqual([]);
    expect(b.version(5)).toBe(3);

    gw.editMessage(m1.id, 1, 'four'); // version 4: only the conversation list hears of it
    gw.io
      .of('/chat')
      .to('user:2')
      .emit('conversation-updated', { conversation: gw.conversationFor(5, 2) });
    await until('the catch-up', () => bu.at(-1)?.message.content === 'four');
    expect(gw.restCalls).toEqual(['GET /api/chats/conversations/5/messages?after_version=3&limit=100']);
    expect(b.version(5)).toBe(4);
  });

  it('re-joins with since_version: changes made while disconnected arrive as messageUpdated, new messages as message', async () => {
    const c = client(2, { reconnect: { initialDelayMs: 300, maxDelayMs: 300 } });
    const [cm, cu] = [record(c), updates(c)];
    await c.connect();
    const [m1, m2] = [gw.store(5, 1, 'one'), gw.store(5, 1, 'two')];
    await c.join(5);
    gw.react(m2.id, 2, '👍'); // c reacts (from another device)
    await until('the reaction', () => cu.length === 1);
    gw.dropConnections();
    await until('disconnected', () => !c.connected);
    gw.editMessage(m1.id, 1, 'one, edited');
    gw.react(m2.id, 2, '👍', false);
    gw.react(m2.id, 1, '😂');
    gw.store(5, 1, 'three');
    gw.deleteMessage(m1.id, 1);
    await until('caught up', () => cm.length === 3 && c.version(5) === gw.versionOf(5));
    expect(gw.joins.at(-1)).toMatchObject({ since_version: 3 });
    expect(gw.joins.at(-1)).not.toHaveProperty('since_seq');
    expect(cm.map((m) => m.content)).toEqual(['one', 'two', 'three']);
    expect(cu.slice(1).map((u) => [u.message.id, u.change])).toEqual([
      [m2.id, undefined],
      [m1.id, undefined],
    ]);
    expect(c.message(5, m1.id)?.deleted_at).not.toBeNull();
    expect(c.message(5, m2.id)?.reactions).toEqual([{ emoji: '😂', count: 1 }]);
    expect(c.myReactions(5, m2.id)).toEqual([]); // taken off on the other device while this one was away
    expect(gw.restCalls).toEqual([]);
  });

  it('join with sinceSeq and sinceVersion asks for changes after that version; sinceVersion alone is refused', async () => {
    const c = client(2);
    const cu = updates(c);
    await c.connect();
    const [m1] = [gw.store(5, 1, 'one'), gw.store(5, 1, 'two')];
    gw.editMessage(m1.id, 1, 'one!');
    await expect(c.join(5, { sinceVersion: 2 })).rejects.toThrow(/sinceSeq/);
    await c.join(5, { sinceSeq: 2, sinceVersion: 2 });
    expect(gw.joins).toEqual([{ conversationId: 5, userId: 2, since_version: 2 }]);
    expect(cu.map((u) => u.message.content)).toEqual(['one!']);
    expect(c.version(5)).toBe(3);
  });
});
