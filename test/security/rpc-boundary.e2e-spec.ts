import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CHATS_SERVICE, type AuthResult, type Conversation, type Message } from '@parley/contracts';
import { RedisStreamsClient } from '@parley/redis-streams';
import { Redis } from 'ioredis';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, conversationBetween, Cluster, REPO_ROOT, registerUser, sleep, waitFor } from '@parley/testing';

// Finding group "The RPC boundary": the chats service validates every request before any work, never lets a
// password hash out, handles a request twice without doing it twice (register, rotate, a send without
// client_message_id), drops requests whose deadline passed by Redis's clock (not the gateway's), and bounds each
// statement (statement_timeout) and each wait for a connection (pool acquire timeout).

let cluster: Cluster;
let gw: string;
let rpc: RedisStreamsClient;
let alice: AuthResult;
let bob: AuthResult;
let conversation: Conversation;
/** Alice's message in the conversation: what the change patterns below name. */
let message: Message;

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 1, chats: 1 });
  gw = cluster.gatewayUrl(0);
  rpc = new RedisStreamsClient({
    redis: cluster.redisUrl,
    keyPrefix: cluster.redisPrefix,
    service: CHATS_SERVICE,
    timeoutMs: 5000,
  });
  await rpc.connect();
  alice = await registerUser(gw, 'rbA');
  bob = await registerUser(gw, 'rbB');
  conversation = await conversationBetween(gw, alice, bob);
  message = (
    await api<Message>(gw, 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
      token: alice.tokens.access,
      body: { message_type: 'text', content: 'the target' },
    })
  ).body;
});
afterAll(async () => {
  await rpc?.close();
  await cluster?.stop();
});

/** A request written straight to the RPC stream, as a buggy or compromised gateway could. */
async function call<T = unknown>(pattern: string, data: unknown): Promise<{ ok: T } | { err: unknown }> {
  try {
    return { ok: await firstValueFrom(rpc.send<T>(pattern, data)) };
  } catch (err) {
    return { err };
  }
}

async function digest(): Promise<string> {
  const rows = await cluster.db.sql<{ d: string }>(`
    SELECT md5(coalesce((SELECT string_agg(m::text, ',' ORDER BY id) FROM messages m), '')
            || coalesce((SELECT string_agg(u::text, ',' ORDER BY id) FROM users u), '')
            || coalesce((SELECT string_agg(s::text, ',' ORDER BY id) FROM sessions s), '')
            || coalesce((SELECT string_agg(c::text, ',' ORDER BY id) FROM conversations c), '')
            || coalesce((SELECT string_agg(r::text, ',' ORDER BY message_id, user_id, emoji)
                         FROM message_reactions r), '')) AS d`);
  return rows[0]!.d;
}

describe('the chats service at its RPC boundary', () => {
  it('refuses requests that do not match their schema with 400, before any SQL', async () => {
    const before = await digest();
    const send = {
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      message_type: 'text',
      content: 'x',
      client_message_id: null,
      request_id: randomUUID(),
      reply_to_id: null,
      attachments: [],
      metadata: null,
    };
    const file = { type: 'file', url: 'https://files.example.com/a.pdf' };
    const target = { user_id: alice.user.id, conversation_id: conversation.id, message_id: message.id };
    const { content: _content, ...sendWithoutContent } = send;
    const { message_id: _messageId, ...noMessage } = target;
    const bad: Array<[string, unknown]> = [
      ['messages.send', { ...send, sender_id: '1 OR 1=1' }],
      ['messages.send', { ...send, message_type: 'video' }],
      ['messages.send', { ...send, content: 'nul \u0000 inside' }],
      ['messages.send', { ...send, request_id: undefined }],
      ['messages.send', { ...send, extra: true }],
      ['messages.send', { ...send, conversation_id: 2 ** 60 }],
      ['conversations.list', { user_id: alice.user.id, cursor: null, limit: 1_000_000 }],
      [
        'messages.history',
        { user_id: alice.user.id, conversation_id: conversation.id, limit: 10, mode: 'all' },
      ],
      ['users.get', { user_id: { $gt: 0 } }],
      ['users.register', { username: 'x', password: 'short', display_name: null }],
      ['sessions.end-all', {}],
      ['users.get', [1]],
      // the message lifecycle: send's new fields (optional, for a gateway of the previous release), edit, delete,
      // react, history by version
      ['messages.send', { ...send, attachments: null }],
      ['messages.send', { ...sendWithoutContent, attachments: [file] }],
      ['messages.send', { ...send, reply_to_id: '1' }],
      ['messages.send', { ...send, reply_to_id: 0 }],
      ['messages.send', { ...send, attachments: Array.from({ length: 11 }, () => file) }],
      ['messages.send', { ...send, attachments: [{ ...file, type: 'gif' }] }],
      ['messages.send', { ...send, attachments: [{ ...file, extra: true }] }],
      ['messages.send', { ...send, attachments: [{ ...file, url: '' }] }],
      [
        'messages.send',
        { ...send, attachments: [{ ...file, url: `https://x.example/${'a'.repeat(2048)}` }] },
      ],
      ['messages.send', { ...send, attachments: [{ ...file, name: 'nul \u0000 inside' }] }],
      ['messages.send', { ...send, attachments: [{ ...file, size: -1 }] }],
      ['messages.send', { ...send, attachments: [{ ...file, width: 0 }] }],
      ['messages.send', { ...send, attachments: [{ ...file, height: 100_001 }] }],
      ['messages.send', { ...send, attachments: [{ type: 'image' }] }],
      ['messages.send', { ...send, attachments: file }],
      ['messages.send', { ...send, metadata: [] }],
      ['messages.send', { ...send, metadata: 'x' }],
      ['messages.send', { ...send, metadata: [{ a: 1 }] }],
      ['messages.edit', { ...target }],
      ['messages.edit', { ...target, content: 'nul \u0000 inside' }],
      ['messages.edit', { ...target, content: 'x'.repeat(100_001) }],
      ['messages.edit', { ...target, content: 7 }],
      ['messages.edit', { ...target, message_id: '1 OR 1=1', content: 'x' }],
      ['messages.edit', { ...target, message_id: 0, content: 'x' }],
      ['messages.edit', { ...target, content: 'x', extra: true }],
      ['messages.delete', noMessage],
      ['messages.delete', { ...target, message_id: -1 }],
      ['messages.delete', { ...target, message_id: 2 ** 60 }],
      ['messages.delete', { ...target, user_id: null }],
      ['messages.delete', { ...target, content: 'x' }],
      ['messages.delete', [target]],
      ['messages.react', { ...target, emoji: '👍' }],
      ['messages.react', { ...target, emoji: '', add: true }],
      ['messages.react', { ...target, emoji: 'x'.repeat(33), add: true }],
      ['messages.react', { ...target, emoji: 'nul \u0000', add: true }],
      ['messages.react', { ...target, emoji: ['👍'], add: true }],
      ['messages.react', { ...target, emoji: '👍', add: 'true' }],
      ['messages.react', { ...target, emoji: '👍', add: 1 }],
      ['messages.react', { ...target, conversation_id: { $gt: 0 }, emoji: '👍', add: true }],
      ['messages.react', { ...target, emoji: '👍', add: true, extra: true }],
      [
        'messages.history',
        { user_id: alice.user.id, conversation_id: conversation.id, limit: 10, mode: 'version' },
      ],
      [
        'messages.history',
        {
          user_id: alice.user.id,
          conversation_id: conversation.id,
          limit: 10,
          mode: 'version',
          after_version: -1,
        },
      ],
      [
        'messages.history',
        {
          user_id: alice.user.id,
          conversation_id: conversation.id,
          limit: 10,
          mode: 'version',
          after_version: 1.5,
        },
      ],
      [
        'messages.history',
        {
          user_id: alice.user.id,
          conversation_id: conversation.id,
          limit: 10,
          mode: 'version',
          after_seq: 0,
        },
      ],
      [
        'messages.history',
        {
          user_id: alice.user.id,
          conversation_id: conversation.id,
          limit: 10,
          mode: 'after',
          after_seq: 0,
          after_version: 0,
        },
      ],
      ['no.such.pattern', {}],
    ];
    // Every answer first, then one comparison: a failure names each request that was not refused.
    const wrong: unknown[] = [];
    for (const [pattern, data] of bad) {
      const res = await call(pattern, data);
      const status = 'err' in res ? (res.err as { status?: unknown }).status : 'served';
      if (status !== (pattern === 'no.such.pattern' ? undefined : 400)) {
        wrong.push({ pattern, data: JSON.stringify(data).slice(0, 300), status });
      }
    }
    expect(wrong).toEqual([]);
    expect(await digest()).toBe(before);
  });

  it('never lets a password hash cross the RPC (the chats service hashes and verifies)', async () => {
    const monitor = new Redis(cluster.redisUrl);
    const seen: string[] = [];
    const stream = await monitor.monitor();
    stream.on('monitor', (_time: string, args: string[]) => seen.push(args.join(' ')));
    try {
      const user = await registerUser(gw, 'hashA');
      const login = await api(gw, 'POST', '/api/auth/login', {
        body: { username: user.user.username, password: 'correct horse battery' },
      });
      expect(login.status).toBe(200);
      await sleep(200);
    } finally {
      stream.disconnect();
      monitor.disconnect();
    }
    const ours = seen.filter((c) => c.includes(cluster.redisPrefix));
    expect(ours.some((c) => c.includes('users.login'))).toBe(true);
    expect(ours.filter((c) => c.includes('$argon2'))).toEqual([]);
  });

  it('handles the same request twice without doing it twice: register, refresh rotation, a send without client_message_id, a group', async () => {
    const session = { id: randomUUID(), jti: randomUUID(), ttl_seconds: 600 };
    const register = {
      username: `twice${Date.now().toString(36)}`,
      password: 'long enough',
      display_name: null,
      session,
    };
    const first = await call<{ user: { id: number } }>('users.register', register);
    const second = await call<{ user: { id: number } }>('users.register', register);
    expect('ok' in first && 'ok' in second).toBe(true);
    const userId = (first as { ok: { user: { id: number } } }).ok.user.id;
    expect((second as { ok: { user: { id: number } } }).ok.user.id).toBe(userId);
    // Another registration of the same name is still refused.
    const other = await call('users.register', { ...register, session: { ...session, id: randomUUID() } });
    expect((other as { err: { status: number } }).err.status).toBe(409);

    const rotate = {
      user_id: userId,
      session_id: session.id,
      jti: session.jti,
      new_jti: randomUUID(),
      ttl_seconds: 600,
      grace_seconds: 0,
    };
    const r1 = await call<{ status: string; jti: string }>('sessions.rotate', rotate);
    const r2 = await call<{ status: string; jti: string }>('sessions.rotate', rotate);
    expect(r1).toEqual({ ok: { status: 'rotated', session_id: session.id, jti: rotate.new_jti } });
    expect(r2).toEqual(r1);
    const [live] = await cluster.db.sql<{ ended_at: Date | null }>(
      'SELECT ended_at FROM sessions WHERE id = $1',
      [session.id],
    );
    expect(live!.ended_at).toBeNull();

    const send = {
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      message_type: 'text',
      content: 'sent once, handled twice',
      client_message_id: null,
      request_id: randomUUID(),
      reply_to_id: null,
      attachments: [],
      metadata: null,
    };
    const s1 = await call<{ message: { id: number }; created: boolean }>('messages.send', send);
    const s2 = await call<{ message: { id: number }; created: boolean }>('messages.send', send);
    expect((s1 as { ok: { created: boolean } }).ok.created).toBe(true);
    expect(s2).toMatchObject({
      ok: { created: false, message: { id: (s1 as { ok: { message: { id: number } } }).ok.message.id } },
    });
    const rows = await cluster.db.sql('SELECT id FROM messages WHERE content = $1', [send.content]);
    expect(rows).toHaveLength(1);

    const group = {
      user_id: alice.user.id,
      title: 'created once, handled twice',
      member_ids: [userId],
      metadata: {},
      request_id: randomUUID(),
    };
    type Created = { ok: { conversation: { id: number }; messages: { seq: number }[] } };
    const g1 = (await call('conversations.create-group', group)) as Created;
    const g2 = (await call('conversations.create-group', group)) as Created;
    expect(g2.ok.conversation.id).toBe(g1.ok.conversation.id);
    expect(g2.ok.messages.map((m) => m.seq)).toEqual([1]);
    const groups = await cluster.db.sql('SELECT id FROM conversations WHERE title = $1', [group.title]);
    expect(groups).toHaveLength(1);
  });

  it('applies an edit, a reaction and a deletion delivered twice only once (the repeat changes nothing)', async () => {
    type Change = { ok: { message: { version: number; content: string }; change: { kind: string } | null } };
    const target = { user_id: alice.user.id, conversation_id: conversation.id, message_id: message.id };
    const version = async () =>
      (
        await cluster.db.sql<{ version: number }>('SELECT version FROM conversations WHERE id = $1', [
          conversation.id,
        ])
      )[0]!.version;
    for (const [pattern, data, kind] of [
      ['messages.edit', { ...target, content: 'edited once, handled twice' }, 'edited'],
      ['messages.react', { ...target, emoji: '🔁', add: true }, 'reaction_added'],
      ['messages.react', { ...target, emoji: '🔁', add: false }, 'reaction_removed'],
      ['messages.delete', target, 'deleted'],
    ] as const) {
      const before = await version();
      const first = (await call(pattern, data)) as Change;
      const second = (await call(pattern, data)) as Change;
      expect({ pattern, kind: first.ok.change?.kind }).toEqual({ pattern, kind });
      expect({ pattern, change: second.ok.change }).toEqual({ pattern, change: null });
      expect(second.ok.message).toEqual(first.ok.message);
      expect(await version()).toBe(before + 1);
    }
    expect(
      await cluster.db.sql('SELECT * FROM message_reactions WHERE message_id = $1', [message.id]),
    ).toEqual([]);
  });

  it('applies a change handled twice at once (a redelivery racing the original, two devices) only once', async () => {
    type Change = { message: { version: number; reactions: unknown[] }; change: { kind: string } | null };
    const fresh = async (content: string) =>
      (
        await api<Message>(gw, 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
          token: alice.tokens.access,
          body: { message_type: 'text', content },
        })
      ).body;
    const version = async () =>
      (
        await cluster.db.sql<{ version: number }>('SELECT version FROM conversations WHERE id = $1', [
          conversation.id,
        ])
      )[0]!.version;
    const on = (m: Message, user = alice) => ({
      user_id: user.user.id,
      conversation_id: conversation.id,
      message_id: m.id,
    });
    const twice = async (pattern: string, data: object) => {
      const results = await Promise.all([call<Change>(pattern, data), call<Change>(pattern, data)]);
      return results.map((r) => ('ok' in r ? (r.ok.change?.kind ?? null) : { err: r.err }));
    };
    const problems: unknown[] = [];
    for (let round = 0; round < 5; round++) {
      // The same reaction added twice at once: one row, counted once, one version.
      const liked = await fresh(`like ${round}`);
      let start = await version();
      const adds = await twice('messages.react', { ...on(liked), emoji: '👍', add: true });
      const [{ n }] = (await cluster.db.sql<{ n: number }>(
        'SELECT count(*)::int AS n FROM message_reactions WHERE message_id = $1',
        [liked.id],
      )) as [{ n: number }];
      const [likedRow] = await cluster.db.sql<{ reactions: unknown }>(
        'SELECT reactions FROM messages WHERE id = $1',
        [liked.id],
      );
      const added = {
        answers: [...adds].sort(),
        rows: n,
        reactions: likedRow!.reactions,
        versions: (await version()) - start,
      };
      const addedOk = {
        answers: ['reaction_added', null].sort(),
        rows: 1,
        reactions: { '👍': 1 },
        versions: 1,
      };
      if (JSON.stringify(added) !== JSON.stringify(addedOk))
        problems.push({ round, case: 'add twice', ...added });

      // Bob's ❤️ and alice's; alice's removed twice at once: bob's stays counted.
      const loved = await fresh(`love ${round}`);
      await call('messages.react', { ...on(loved, bob), emoji: '❤️', add: true });
      await call('messages.react', { ...on(loved), emoji: '❤️', add: true });
      start = await version();
      const removes = await twice('messages.react', { ...on(loved), emoji: '❤️', add: false });
      const [lovedRow] = await cluster.db.sql<{ reactions: unknown }>(
        'SELECT reactions FROM messages WHERE id = $1',
        [loved.id],
      );
      const removed = {
        answers: [...removes].sort(),
        reactions: lovedRow!.reactions,
        versions: (await version()) - start,
      };
      const removedOk = { answers: ['reaction_removed', null].sort(), reactions: { '❤️': 1 }, versions: 1 };
      if (JSON.stringify(removed) !== JSON.stringify(removedOk))
        problems.push({ round, case: 'remove twice', ...removed });

      // Deleted twice at once: one tombstone, one version.
      const doomed = await fresh(`doomed ${round}`);
      start = await version();
      const deletes = await twice('messages.delete', on(doomed));
      const gone = { answers: [...deletes].sort(), versions: (await version()) - start };
      if (JSON.stringify(gone) !== JSON.stringify({ answers: ['deleted', null].sort(), versions: 1 }))
        problems.push({ round, case: 'delete twice', ...gone });

      // Deleted and edited at once: either order is fine, but a tombstone keeps no content.
      const raced = await fresh(`raced ${round}`);
      await Promise.all([
        call('messages.delete', on(raced)),
        call('messages.edit', { ...on(raced), content: 'back from the dead' }),
      ]);
      const [racedRow] = await cluster.db.sql<{ content: string; deleted_at: Date | null }>(
        'SELECT content, deleted_at FROM messages WHERE id = $1',
        [raced.id],
      );
      if (racedRow!.deleted_at !== null && racedRow!.content !== '')
        problems.push({ round, case: 'delete and edit', content: racedRow!.content });
    }
    expect(problems).toEqual([]);
  });
});

describe('deadlines on Redis’s clock', () => {
  it('does no work for a request whose caller gave up, even when the gateway’s clock is a minute ahead', async () => {
    const skewed = await cluster.startGateway({
      NODE_OPTIONS: `--import ${join(REPO_ROOT, 'test/support/fixtures/clock-offset.mjs')}`,
      PARLEY_TEST_CLOCK_OFFSET_MS: '60000',
      RPC_TIMEOUT_MS: '1500',
    });
    const chats = cluster.chats[0]!;
    const expiredBefore = await chats.metric('parley_rpc_expired_total');
    chats.proc.kill('SIGSTOP');
    let status: number;
    try {
      const res = await api(skewed.url, 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
        token: alice.tokens.access,
        body: { message_type: 'text', content: 'too late to matter', client_message_id: 'late-1' },
      });
      status = res.status;
    } finally {
      await sleep(500);
      chats.proc.kill('SIGCONT');
    }
    expect(status).toBe(504); // the caller was told no instance answered in time…
    await waitFor(
      'the chats service to drop the expired request',
      async () => (await chats.metric('parley_rpc_expired_total')) > expiredBefore,
    );
    // …and nothing was stored behind its back.
    expect(await cluster.db.sql('SELECT id FROM messages WHERE client_message_id = $1', ['late-1'])).toEqual(
      [],
    );
    await skewed.stop();
  });
});

describe('database bounds', () => {
  let slow: Cluster;
  beforeAll(async () => {
    slow = await Cluster.start({
      gateways: 1,
      chats: 1,
      chatsEnv: {
        DB_STATEMENT_TIMEOUT_MS: '300',
        DB_POOL_SIZE: '1',
        DB_ACQUIRE_TIMEOUT_MS: '200',
        MESSAGE_BATCH_MAX: '1',
      },
    });
  });
  afterAll(async () => {
    await slow?.stop();
  });

  it('cancels a statement past DB_STATEMENT_TIMEOUT_MS and fails a wait for a connection past DB_ACQUIRE_TIMEOUT_MS, as Service busy', async () => {
    const url = slow.gatewayUrl(0);
    const [a, b] = await Promise.all([registerUser(url, 'dbA'), registerUser(url, 'dbB')]);
    const conv = (
      await api<Conversation>(url, 'POST', '/api/chats/conversations', {
        token: a.tokens.access,
        body: { receiver_id: b.user.id },
      })
    ).body;
    // A deliberately slow insert (a trigger that sleeps a second), on this test's own database.
    await slow.db.sql(`CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$`);
    await slow.db.sql(
      'CREATE TRIGGER slow_insert BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION slow_insert()',
    );
    const send = api<{ message: string }>(url, 'POST', `/api/chats/conversations/${conv.id}/messages`, {
      token: a.tokens.access,
      body: { message_type: 'text', content: 'slow', client_message_id: 'slow-1' },
    });
    await sleep(50);
    // The send holds the only connection: a read waits for it, and gives up.
    const read = await api<{ message: string }>(url, 'GET', `/api/chats/conversations/${conv.id}`, {
      token: b.tokens.access,
    });
    expect(read).toMatchObject({ status: 503, body: { message: 'Service busy, retry later' } });
    expect(await send).toMatchObject({ status: 503, body: { message: 'Service busy, retry later' } });
    expect(await slow.db.sql('SELECT id FROM messages')).toEqual([]);
    await slow.db.sql('DROP TRIGGER slow_insert ON messages');
    const retry = await api(url, 'POST', `/api/chats/conversations/${conv.id}/messages`, {
      token: a.tokens.access,
      body: { message_type: 'text', content: 'slow', client_message_id: 'slow-1' },
    });
    expect(retry.status).toBe(201);
  });
});
