import type { AuthResult, Conversation, Message, MessagePage, MessageUpdatedEvent } from '@parley/contracts';
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

// The message lifecycle on 2 gateways and 2 chats services: edits, tombstones, reactions, replies, attachments
// and metadata, each broadcast once to every socket, catch-up by version, and the counters under concurrency.
let cluster: Cluster;
let gw: [string, string];
const open: Recorder[] = [];

const UNLIMITED = '100000';
beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 2,
    gatewayEnv: Object.fromEntries(
      ['MESSAGES', 'MESSAGE_CHANGES', 'JOINS', 'HISTORY', 'GROUP_CHANGES'].flatMap((kind) => [
        [`RATE_LIMIT_${kind}_PER_SECOND`, UNLIMITED],
        [`RATE_LIMIT_${kind}_BURST`, UNLIMITED],
      ]),
    ),
    env: { RATE_LIMIT_CONVERSATIONS_PER_MINUTE: UNLIMITED, SOCKET_MAX_IN_FLIGHT: '1000' },
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
});
afterAll(async () => {
  for (const r of open) r.socket.close();
  await cluster?.stop();
});

async function socketOf(user: AuthResult, gateway: number): Promise<Recorder> {
  const r = await connectRecorded(gw[gateway]!, { token: user.tokens.access });
  open.push(r);
  return r;
}

async function join(r: Recorder, user: AuthResult, conversationId: number, since?: object) {
  const ack = await request<{ success: boolean; version: number; error?: string }>(
    r.socket,
    'join-conversation',
    { conversationId, userId: user.user.id, ...since },
  );
  expect(ack).toMatchObject({ success: true });
  return ack;
}

function path(conversationId: number, rest = '') {
  return `/api/chats/conversations/${conversationId}/messages${rest}`;
}

async function send(user: AuthResult, conversationId: number, body: object, gateway = 0) {
  return api<Message>(gw[gateway]!, 'POST', path(conversationId), {
    token: user.tokens.access,
    body: { message_type: 'text', ...body },
  });
}

/** Every message of the conversation as `user` reads it now (REST, ascending seq). */
async function history(user: AuthResult, conversationId: number): Promise<Message[]> {
  const all: Message[] = [];
  for (let after = 0; ;) {
    const res = await api<MessagePage>(gw[1], 'GET', path(conversationId, `?after_seq=${after}&limit=100`), {
      token: user.tokens.access,
    });
    expect(res.status).toBe(200);
    all.push(...res.body.messages);
    if (!res.body.has_more) return all;
    after = res.body.messages.at(-1)!.seq;
  }
}

async function conversation(user: AuthResult, id: number): Promise<Conversation> {
  const res = await api<Conversation>(gw[0], 'GET', `/api/chats/conversations/${id}`, {
    token: user.tokens.access,
  });
  expect(res.status).toBe(200);
  return res.body;
}

const updates = (r: Recorder, conversationId: number) =>
  r.of<MessageUpdatedEvent>('message-updated').filter((e) => e.message.conversation_id === conversationId);

describe('two users on different instances', () => {
  let ann: AuthResult;
  let bob: AuthResult;
  let convId: number;
  let sockets: Recorder[];

  beforeAll(async () => {
    [ann, bob] = await Promise.all([registerUser(gw[0], 'lcann'), registerUser(gw[1], 'lcbob')]);
    convId = (await conversationBetween(gw[0], ann, bob)).id;
    // Ann on gateway 0, Bob on both.
    sockets = await Promise.all([socketOf(ann, 0), socketOf(bob, 0), socketOf(bob, 1)]);
    await join(sockets[0]!, ann, convId);
    await join(sockets[1]!, bob, convId);
    await join(sockets[2]!, bob, convId);
  });

  it('send replies, attachments and metadata; a retry returns the stored message unchanged', async () => {
    const first = await send(ann, convId, { content: 'first' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      version: 1,
      edited_at: null,
      deleted_at: null,
      reply_to_id: null,
      attachments: [],
      metadata: {},
      reactions: [],
    });
    const body = {
      content: '',
      client_message_id: 'lc-files-1',
      reply_to_id: first.body.id,
      attachments: [
        {
          type: 'image',
          url: 'https://cdn.example.com/a.png',
          width: 640,
          height: 480,
          mime_type: 'image/png',
        },
        { type: 'file', url: 'http://files.example.com/b.pdf', name: 'b.pdf', size: 12_345 },
      ],
      metadata: { productId: 'p-1', offer: { id: 7, tags: ['a', 'b'] } },
    };
    const files = await send(bob, convId, body, 1);
    expect(files.status).toBe(201);
    expect(files.body).toMatchObject({
      content: '',
      reply_to_id: first.body.id,
      attachments: body.attachments,
      metadata: body.metadata,
      version: 2,
      seq: 2,
    });
    const again = await send(bob, convId, body, 0);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(files.body);
    // The retry stored nothing and took no version.
    expect((await conversation(ann, convId)).version).toBe(2);
    await waitFor('ann got it', () => sockets[0]!.of<Message>('receive-message').some((m) => m.seq === 2));
    expect(sockets[0]!.of<Message>('receive-message').find((m) => m.seq === 2)).toEqual(files.body);
  });

  it('edit, react (add and remove) and delete: each broadcast once to every socket; history shows the end state', async () => {
    const msg = (await send(ann, convId, { content: 'tpyo' })).body;
    for (const r of sockets) r.clear();
    const edit = await request<{ success: boolean; message: Message }>(sockets[0]!.socket, 'edit-message', {
      conversationId: convId,
      messageId: msg.id,
      content: 'typo',
    });
    expect(edit.success).toBe(true);
    expect(edit.message).toMatchObject({ content: 'typo', version: msg.version + 1 });
    expect(edit.message.edited_at).not.toBeNull();
    const put = await api<Message>(
      gw[1],
      'PUT',
      path(convId, `/${msg.id}/reactions/${encodeURIComponent('👍')}`),
      {
        token: bob.tokens.access,
      },
    );
    expect(put.status).toBe(200);
    expect(put.body.reactions).toEqual([{ emoji: '👍', count: 1 }]);
    const mine = await request<{ success: boolean; message: Message }>(sockets[0]!.socket, 'react', {
      conversationId: convId,
      messageId: msg.id,
      emoji: '👍',
      add: true,
    });
    expect(mine.message.reactions).toEqual([{ emoji: '👍', count: 2 }]);
    const heart = await request<{ success: boolean; message: Message }>(sockets[1]!.socket, 'react', {
      conversationId: convId,
      messageId: msg.id,
      emoji: '❤️',
      add: true,
    });
    expect(heart.message.reactions).toEqual([
      { emoji: '👍', count: 2 },
      { emoji: '❤️', count: 1 },
    ]);
    // Adding the same reaction again changes nothing and broadcasts nothing.
    const same = await request<{ success: boolean; message: Message }>(sockets[1]!.socket, 'react', {
      conversationId: convId,
      messageId: msg.id,
      emoji: '❤️',
      add: true,
    });
    expect(same.message.version).toBe(heart.message.version);
    const unput = await api<Message>(
      gw[0],
      'DELETE',
      path(convId, `/${msg.id}/reactions/${encodeURIComponent('👍')}`),
      {
        token: bob.tokens.access,
      },
    );
    expect(unput.body.reactions).toEqual([
      { emoji: '❤️', count: 1 },
      { emoji: '👍', count: 1 },
    ]);
    const del = await api<Message>(gw[1], 'DELETE', path(convId, `/${msg.id}`), { token: ann.tokens.access });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ content: '', attachments: [], metadata: {}, reactions: [] });
    expect(del.body.deleted_at).not.toBeNull();
    const kinds = [
      'edited',
      'reaction_added',
      'reaction_added',
      'reaction_added',
      'reaction_removed',
      'deleted',
    ];
    for (const r of sockets) {
      await waitFor('all changes', () => updates(r, convId).length >= kinds.length);
    }
    await sleep(300);
    for (const r of sockets) {
      const seen = updates(r, convId);
      expect(seen.map((e) => e.change.kind)).toEqual(kinds);
      // Versions are consecutive: one per change, none for the repeated reaction.
      expect(seen.map((e) => e.message.version)).toEqual(kinds.map((_, i) => msg.version + 1 + i));
      expect(seen.at(-1)!.message).toEqual(del.body);
    }
    const stored = (await history(bob, convId)).find((m) => m.id === msg.id)!;
    expect(stored).toEqual({ ...del.body, my_reactions: [] });
    // A tombstone keeps its place and takes no more changes.
    for (const attempt of [
      () =>
        request(sockets[0]!.socket, 'edit-message', {
          conversationId: convId,
          messageId: msg.id,
          content: 'x',
        }),
      () =>
        request(sockets[1]!.socket, 'react', {
          conversationId: convId,
          messageId: msg.id,
          emoji: '👍',
          add: true,
        }),
    ]) {
      expect(await attempt()).toEqual({ success: false, error: 'Message not found' });
    }
    // Deleting again changes nothing.
    const again = await api<Message>(gw[0], 'DELETE', path(convId, `/${msg.id}`), {
      token: ann.tokens.access,
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(del.body);
  });

  it('history pages carry my_reactions for the caller', async () => {
    const msg = (await send(ann, convId, { content: 'react to me' })).body;
    for (const [user, emoji] of [
      [ann, '🎉'],
      [bob, '🎉'],
      [bob, '👀'],
    ] as const) {
      const res = await api(gw[0], 'PUT', path(convId, `/${msg.id}/reactions/${encodeURIComponent(emoji)}`), {
        token: user.tokens.access,
      });
      expect(res.status).toBe(200);
    }
    const asAnn = (await history(ann, convId)).find((m) => m.id === msg.id)!;
    const asBob = (await history(bob, convId)).find((m) => m.id === msg.id)!;
    expect(asAnn.reactions).toEqual([
      { emoji: '🎉', count: 2 },
      { emoji: '👀', count: 1 },
    ]);
    expect(asAnn.my_reactions).toEqual(['🎉']);
    expect(asBob.my_reactions).toEqual(['🎉', '👀']);
    const joined = await socketOf(ann, 1);
    await join(joined, ann, convId);
    await waitFor('recent', () => joined.of('recent-messages').length > 0);
    const recent = joined.of<{ messages: Message[] }>('recent-messages')[0]!.messages;
    expect(recent.find((m) => m.id === msg.id)!.my_reactions).toEqual(['🎉']);
  });

  it('refuses, with the exact errors and nothing changed: not the author, 21st emoji, 11 attachments, 3 KB metadata, a reply elsewhere', async () => {
    const carl = await registerUser(gw[0], 'lccarl');
    const other = await conversationBetween(gw[0], ann, carl);
    const elsewhere = (await send(ann, other.id, { content: 'elsewhere' })).body;
    const msg = (await send(ann, convId, { content: 'mine' })).body;
    for (let i = 0; i < 20; i++) {
      const res = await api(gw[i % 2]!, 'PUT', path(convId, `/${msg.id}/reactions/e${i}`), {
        token: bob.tokens.access,
      });
      expect(res.status).toBe(200);
    }
    const before = await conversation(ann, convId);
    const rowsBefore = await history(ann, convId);

    expect(
      await request(sockets[1]!.socket, 'edit-message', {
        conversationId: convId,
        messageId: msg.id,
        content: 'his',
      }),
    ).toEqual({ success: false, error: 'Only the author can edit this message' });
    const patch = await api(gw[1], 'PATCH', path(convId, `/${msg.id}`), {
      token: bob.tokens.access,
      body: { content: 'his' },
    });
    expect(patch.status).toBe(403);
    expect(patch.body).toMatchObject({ message: 'Only the author can edit this message' });
    // In a direct conversation only the author deletes.
    const notMine = await api(gw[1], 'DELETE', path(convId, `/${msg.id}`), { token: bob.tokens.access });
    expect(notMine.status).toBe(403);
    expect(notMine.body).toMatchObject({ message: 'Not allowed' });
    expect(
      await request(sockets[1]!.socket, 'react', {
        conversationId: convId,
        messageId: msg.id,
        emoji: 'e20',
        add: true,
      }),
    ).toEqual({ success: false, error: 'A message has at most 20 distinct reactions' });
    const eleven = Array.from({ length: 11 }, (_, i) => ({ type: 'file', url: `https://x.example/${i}` }));
    const tooMany = await send(ann, convId, { content: 'x', attachments: eleven });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ message: ['attachments must contain no more than 10 elements'] });
    const big = await send(ann, convId, { content: 'x', metadata: { blob: 'x'.repeat(3000) } });
    expect(big.status).toBe(400);
    expect(big.body).toMatchObject({ message: ['metadata must be at most 2048 bytes as JSON'] });
    const bigOverSocket = await request(sockets[0]!.socket, 'send-message', {
      sender_id: ann.user.id,
      conversation_id: convId,
      message_type: 'text',
      content: 'x',
      metadata: { blob: 'x'.repeat(3000) },
    });
    expect(bigOverSocket).toEqual({ success: false, error: 'metadata must be at most 2048 bytes as JSON' });
    const reply = await send(ann, convId, { content: 'x', reply_to_id: elsewhere.id });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ message: 'reply_to_id must be a message of this conversation' });
    const unknown = await api(gw[0], 'PATCH', path(convId, `/${elsewhere.id}`), {
      token: ann.tokens.access,
      body: { content: 'moved?' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ message: 'Message not found' });
    const stranger = await api(gw[0], 'PUT', path(other.id, `/${elsewhere.id}/reactions/x`), {
      token: bob.tokens.access,
    });
    expect(stranger.status).toBe(403);
    const empty = await send(ann, convId, { content: '' });
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ message: ['content should not be empty'] });

    expect(await conversation(ann, convId)).toEqual(before);
    expect(await history(ann, convId)).toEqual(rowsBefore);
    for (const r of sockets) expect(r.socket.connected).toBe(true);
  });
});

describe('offline catch-up by version', () => {
  it('a client that missed 50 new messages and 20 changes ends with exactly the server state', async () => {
    const [ann, bob] = await Promise.all([registerUser(gw[0], 'lcoff1'), registerUser(gw[1], 'lcoff2')]);
    const convId = (await conversationBetween(gw[0], ann, bob)).id;
    for (let i = 0; i < 30; i++) await send(i % 2 ? bob : ann, convId, { content: `old ${i}` }, i % 2);
    const offline = await socketOf(bob, 0);
    const ack = await join(offline, bob, convId);
    const known = new Map<number, Message>();
    await waitFor('recent', () => offline.of('recent-messages').length > 0);
    for (const m of offline.of<{ messages: Message[] }>('recent-messages')[0]!.messages) known.set(m.id, m);
    offline.socket.close();

    const old = [...known.values()];
    for (let i = 0; i < 50; i++) await send(ann, convId, { content: `new ${i}` }, i % 2);
    for (let i = 0; i < 20; i++) {
      const target = old[i]!;
      const mine = target.sender_id === ann.user.id;
      const res =
        i % 3 === 0 && mine
          ? await api(gw[i % 2]!, 'PATCH', path(convId, `/${target.id}`), {
              token: ann.tokens.access,
              body: { content: `edited ${i}` },
            })
          : i % 3 === 1
            ? await api(gw[i % 2]!, 'DELETE', path(convId, `/${target.id}`), {
                token: (mine ? ann : bob).tokens.access,
              })
            : await api(
                gw[i % 2]!,
                'PUT',
                path(convId, `/${target.id}/reactions/${encodeURIComponent('🔥')}`),
                {
                  token: ann.tokens.access,
                },
              );
      expect(res.status).toBe(200);
    }

    const back = await socketOf(bob, 1);
    await join(back, bob, convId, { since_version: ack.version });
    await waitFor('catch-up', () => back.of('recent-messages').length > 0);
    const page = back.of<{ messages: Message[]; has_more: boolean }>('recent-messages')[0]!;
    expect(page.has_more).toBe(false);
    const versions = page.messages.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    for (const m of page.messages) known.set(m.id, m);
    const since = versions.at(-1)!;
    // REST pages the same by version: ten at a time, the same messages.
    const paged: Message[] = [];
    for (let after = ack.version; ;) {
      const rest = await api<MessagePage>(gw[0], 'GET', path(convId, `?after_version=${after}&limit=10`), {
        token: bob.tokens.access,
      });
      expect(rest.status).toBe(200);
      paged.push(...rest.body.messages);
      if (!rest.body.has_more) break;
      after = rest.body.messages.at(-1)!.version;
    }
    expect(paged).toEqual(page.messages);
    const server = await history(bob, convId);
    const mine = [...known.values()].sort((a, b) => a.seq - b.seq);
    expect(mine).toEqual(server);
    expect(server.length).toBe(80);
    expect(since).toBe((await conversation(bob, convId)).version);
  });
});

describe('concurrency', () => {
  it('100 users toggling one reaction at once: the count is exact and the version gapless', async () => {
    const owner = await registerUser(gw[0], 'lcrowner');
    const people: AuthResult[] = [];
    // In tens: registration hashes passwords, and the chats service sheds what it cannot take at once.
    for (let i = 0; i < 100; i += 10) {
      people.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, (_, j) => registerUser(gw[(i + j) % 2]!, `lcr${i + j}`)),
        )),
      );
    }
    const group = await api<Conversation>(gw[0], 'POST', '/api/chats/conversations', {
      token: owner.tokens.access,
      body: { type: 'group', title: 'Reactors', member_ids: people.map((p) => p.user.id) },
    });
    expect(group.status).toBe(201);
    const convId = group.body.id;
    const msg = (await send(owner, convId, { content: 'vote' })).body;
    const start = (await conversation(owner, convId)).version;
    // Each user toggles 1–3 times (add, remove, add…), all at once over both gateways; who ends with "add" counts.
    const toggles = people.map((_, i) => 1 + (i % 3));
    const results = await Promise.all(
      people.map(async (p, i) => {
        for (let t = 0; t < toggles[i]!; t++) {
          const res = await api(
            gw[(i + t) % 2]!,
            t % 2 === 0 ? 'PUT' : 'DELETE',
            path(convId, `/${msg.id}/reactions/${encodeURIComponent('✅')}`),
            { token: p.tokens.access },
          );
          expect(res.status).toBe(200);
        }
      }),
    );
    expect(results).toHaveLength(100);
    const adds = toggles.filter((t) => t % 2 === 1).length;
    const stored = (await history(owner, convId)).find((m) => m.id === msg.id)!;
    expect(stored.reactions).toEqual([{ emoji: '✅', count: adds }]);
    const end = await conversation(owner, convId);
    const changes = toggles.reduce((a, b) => a + b, 0);
    expect(end.version).toBe(start + changes);
    expect(stored.version).toBe(end.version);
  });

  it('concurrent sends and edits in one conversation: every version is used exactly once', async () => {
    const [ann, bob] = await Promise.all([registerUser(gw[0], 'lccv1'), registerUser(gw[1], 'lccv2')]);
    const convId = (await conversationBetween(gw[0], ann, bob)).id;
    const watcher = await socketOf(bob, 1);
    await join(watcher, bob, convId);
    const base = (await send(ann, convId, { content: 'base' })).body;
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => send(i % 2 ? bob : ann, convId, { content: `s${i}` }, i % 2)),
      ...Array.from({ length: 20 }, (_, i) =>
        api(gw[i % 2]!, 'PATCH', path(convId, `/${base.id}`), {
          token: ann.tokens.access,
          body: { content: `e${i}` },
        }),
      ),
    ]);
    const end = await conversation(ann, convId);
    expect(end.version).toBe(base.version + 40);
    const seen = new Set<number>();
    await waitFor('every change', () => {
      for (const m of watcher.of<Message>('receive-message')) if (m.id !== base.id) seen.add(m.version);
      for (const e of watcher.of<MessageUpdatedEvent>('message-updated')) seen.add(e.message.version);
      return seen.size >= 40;
    });
    expect([...seen].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => base.version + 1 + i),
    );
  });
});

describe('who may change what', () => {
  it('in a group: the author or its owner and admins delete, members do not; system and media messages are not edited; the removed hear nothing', async () => {
    const [owner, admin, member, other] = await Promise.all([
      registerUser(gw[0], 'lcgown'),
      registerUser(gw[1], 'lcgadm'),
      registerUser(gw[0], 'lcgmem'),
      registerUser(gw[1], 'lcgoth'),
    ]);
    const created = await api<Conversation>(gw[0], 'POST', '/api/chats/conversations', {
      token: owner.tokens.access,
      body: { type: 'group', title: 'Moderated', member_ids: [admin.user.id, member.user.id, other.user.id] },
    });
    expect(created.status).toBe(201);
    const convId = created.body.id;
    const role = await api(gw[0], 'PATCH', `/api/chats/conversations/${convId}/members/${admin.user.id}`, {
      token: owner.tokens.access,
      body: { role: 'admin' },
    });
    expect(role.status).toBe(200);
    const [theirs, mine, image] = [
      (await send(other, convId, { content: 'by other' })).body,
      (await send(member, convId, { content: 'by member' }, 1)).body,
      (await send(member, convId, { message_type: 'image', content: 'https://x.example/a.png' })).body,
    ];
    const systemMessage = (await history(owner, convId)).find((m) => m.message_type === 'system')!;
    const before = await conversation(owner, convId);
    const refusals: [AuthResult, string, string, object | undefined, number, string][] = [
      [member, 'DELETE', `/${theirs.id}`, undefined, 403, 'Not allowed'],
      [owner, 'DELETE', `/${systemMessage.id}`, undefined, 403, 'Not allowed'],
      [owner, 'PATCH', `/${systemMessage.id}`, { content: 'rewritten' }, 403, 'Not allowed'],
      [member, 'PATCH', `/${image.id}`, { content: 'https://x.example/b.png' }, 403, 'Not allowed'],
      [admin, 'PATCH', `/${mine.id}`, { content: 'moderated' }, 403, 'Only the author can edit this message'],
    ];
    for (const [user, method, rest, body, status, message] of refusals) {
      const res = await api(gw[1], method, path(convId, rest), { token: user.tokens.access, body });
      expect(res.status, `${method} ${rest}`).toBe(status);
      expect(res.body).toMatchObject({ message });
    }
    expect(await conversation(owner, convId)).toEqual(before);

    // A removed member's socket hears nothing more, not even changes of messages it saw.
    const removedSocket = await socketOf(other, 0);
    await join(removedSocket, other, convId);
    const watcher = await socketOf(member, 1);
    await join(watcher, member, convId);
    const removal = await api(
      gw[0],
      'DELETE',
      `/api/chats/conversations/${convId}/members/${other.user.id}`,
      {
        token: admin.tokens.access,
      },
    );
    expect(removal.status).toBe(204);
    removedSocket.clear();
    const byAdmin = await api<Message>(gw[1], 'DELETE', path(convId, `/${theirs.id}`), {
      token: admin.tokens.access,
    });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.deleted_at).not.toBeNull();
    const byOwner = await api<Message>(gw[0], 'DELETE', path(convId, `/${mine.id}`), {
      token: owner.tokens.access,
    });
    expect(byOwner.status).toBe(200);
    await waitFor('the member saw both', () => updates(watcher, convId).length >= 2);
    expect(updates(watcher, convId).map((e) => [e.message.id, e.change])).toEqual([
      [theirs.id, { kind: 'deleted', user_id: admin.user.id }],
      [mine.id, { kind: 'deleted', user_id: owner.user.id }],
    ]);
    await sleep(300);
    expect(updates(removedSocket, convId)).toEqual([]);
    expect(
      await request(removedSocket.socket, 'react', {
        conversationId: convId,
        messageId: image.id,
        emoji: '👋',
        add: true,
      }),
    ).toEqual({ success: false, error: 'Unauthorized' });
  });

  it('between users who blocked each other: no edits or reactions in their direct conversation, deletions still', async () => {
    const [ann, bob] = await Promise.all([registerUser(gw[0], 'lcblk1'), registerUser(gw[1], 'lcblk2')]);
    const convId = (await conversationBetween(gw[0], ann, bob)).id;
    const msg = (await send(ann, convId, { content: 'before the block' })).body;
    const block = await api(gw[1], 'PUT', `/api/users/${ann.user.id}/block`, { token: bob.tokens.access });
    expect(block.status).toBe(204);
    const edit = await api(gw[0], 'PATCH', path(convId, `/${msg.id}`), {
      token: ann.tokens.access,
      body: { content: 'after' },
    });
    expect(edit.status).toBe(403);
    expect(edit.body).toMatchObject({ message: 'You cannot message this user' });
    const react = await api(gw[1], 'PUT', path(convId, `/${msg.id}/reactions/x`), {
      token: bob.tokens.access,
    });
    expect(react.status).toBe(403);
    const del = await api<Message>(gw[0], 'DELETE', path(convId, `/${msg.id}`), { token: ann.tokens.access });
    expect(del.status).toBe(200);
    expect(del.body.deleted_at).not.toBeNull();
  });
});
