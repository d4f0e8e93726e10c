import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CHATS_SERVICE, type AuthResult, type Conversation } from '@parley/contracts';
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
let conversation: Conversation;

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
  const bob = await registerUser(gw, 'rbB');
  conversation = await conversationBetween(gw, alice, bob);
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
            || coalesce((SELECT string_agg(s::text, ',' ORDER BY id) FROM sessions s), '')) AS d`);
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
    };
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
      ['no.such.pattern', {}],
    ];
    for (const [pattern, data] of bad) {
      const res = await call(pattern, data);
      expect({
        pattern,
        data,
        status: 'err' in res ? (res.err as { status?: unknown }).status : 'served',
      }).toEqual({
        pattern,
        data,
        status: pattern === 'no.such.pattern' ? undefined : 400,
      });
    }
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
