import type { AuthResult, Conversation, ConversationPage, Message, MessagePage } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, Cluster, registerUser, TEST_JWT_SECRET, waitFor } from '@parley/testing';
import { createHmac } from 'node:crypto';

// The REST contract of PROTOCOL.md against 2 gateways and 1 chats service, all real processes.
let cluster: Cluster;
let gw0: string;
let gw1: string;

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 2, chats: 1 });
  gw0 = cluster.gatewayUrl(0);
  gw1 = cluster.gatewayUrl(1);
});
afterAll(async () => {
  await cluster?.stop();
});

async function countRows(table: string): Promise<number> {
  const [row] = await cluster.db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return row!.n;
}

describe('auth', () => {
  it('registers, logs in on another gateway, and never returns a password or hash', async () => {
    const reg = await api<AuthResult>(gw0, 'POST', '/api/auth/register', {
      body: { username: 'Alice_1', password: 'correct horse battery', display_name: 'Alice' },
    });
    expect(reg.status).toBe(201);
    expect(reg.body.user).toEqual({
      id: expect.any(Number),
      username: 'Alice_1',
      display_name: 'Alice',
      created_at: expect.any(String),
    });
    expect(reg.body.tokens).toEqual({ access: expect.any(String), refresh: expect.any(String) });
    expect(JSON.stringify(reg.body)).not.toMatch(/password|hash|argon/i);

    const login = await api<AuthResult>(gw1, 'POST', '/api/auth/login', {
      body: { username: 'alice_1', password: 'correct horse battery' },
    });
    expect(login.status).toBe(200);
    expect(login.body.user.id).toBe(reg.body.user.id);
    const [stored] = await cluster.db.sql<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1',
      [reg.body.user.id],
    );
    expect(stored!.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('refuses a taken username regardless of case', async () => {
    await registerUser(gw0, 'dup');
    const first = await api(gw0, 'POST', '/api/auth/register', {
      body: { username: 'CaseUser', password: 'password123' },
    });
    expect(first.status).toBe(201);
    const again = await api(gw1, 'POST', '/api/auth/register', {
      body: { username: 'caseuser', password: 'password123' },
    });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ statusCode: 409, message: 'Username is already taken', error: 'Conflict' });
  });

  it('answers wrong credentials with 401 without saying which part was wrong', async () => {
    const { user } = await registerUser(gw0, 'creds');
    const wrongPassword = await api(gw0, 'POST', '/api/auth/login', {
      body: { username: user.username, password: 'nope-nope' },
    });
    const unknownUser = await api(gw0, 'POST', '/api/auth/login', {
      body: { username: 'nobody-here', password: 'nope-nope' },
    });
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    expect(wrongPassword.body).toEqual(unknownUser.body);
    expect(wrongPassword.body).toEqual({
      statusCode: 401,
      message: 'Invalid username or password',
      error: 'Unauthorized',
    });
  });

  it('rotates refresh tokens, lets a second tab use the one just replaced, and ends the session on a replay', async () => {
    const { tokens } = await registerUser(gw0, 'rot');
    const refresh = (token: string, url = gw0) =>
      api<{ tokens: { access: string; refresh: string } }>(url, 'POST', '/api/auth/refresh', {
        body: { refresh: token },
      });
    const jti = (token: string) =>
      (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    const first = await refresh(tokens.refresh);
    expect(first.status).toBe(200);
    expect(jti(first.body.tokens.refresh)).not.toBe(jti(tokens.refresh));
    // The new access token works.
    expect(
      (await api(gw1, 'GET', '/api/chats/conversations', { token: first.body.tokens.access })).status,
    ).toBe(200);

    // A second tab refreshing with the token just replaced (within the grace) gets the current one, not a logout.
    const secondTab = await refresh(tokens.refresh, gw1);
    expect(secondTab.status).toBe(200);
    expect(jti(secondTab.body.tokens.refresh)).toBe(jti(first.body.tokens.refresh));

    // Once the successor has rotated too, the original token is a replay: refused, and the session ends.
    const second = await refresh(first.body.tokens.refresh);
    expect(second.status).toBe(200);
    const replay = await refresh(tokens.refresh, gw1);
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ message: 'Invalid refresh token' });
    expect((await refresh(second.body.tokens.refresh)).status).toBe(401);
    // Its access tokens stop working too, on every gateway.
    for (const url of [gw0, gw1]) {
      await waitFor('the ended session to reach every gateway', async () => {
        const res = await api(url, 'GET', '/api/chats/conversations', { token: second.body.tokens.access });
        return res.status === 401 && (res.body as { message?: string }).message === 'Session ended';
      });
    }
  });

  it('does not accept an access token as a refresh token, or a refresh token as an access token', async () => {
    const { tokens } = await registerUser(gw0, 'typ');
    expect((await api(gw0, 'POST', '/api/auth/refresh', { body: { refresh: tokens.access } })).status).toBe(
      401,
    );
    expect((await api(gw0, 'GET', '/api/chats/conversations', { token: tokens.refresh })).status).toBe(401);
  });

  it('refuses missing, malformed, forged, expired and alg:none tokens', async () => {
    const { user } = await registerUser(gw0, 'tok');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const sign = (payload: object, secret = TEST_JWT_SECRET) => {
      const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
      return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
    };
    const now = Math.floor(Date.now() / 1000);
    const valid = sign({ sub: String(user.id), typ: 'access', iat: now, exp: now + 60 });
    expect((await api(gw0, 'GET', '/api/chats/conversations', { token: valid })).status).toBe(200);

    const bad = {
      missing: undefined,
      malformed: 'not.a.jwt',
      forged: sign({ sub: String(user.id), typ: 'access', exp: now + 60 }, 'some-other-secret-123456'),
      expired: sign({ sub: String(user.id), typ: 'access', iat: now - 120, exp: now - 60 }),
      notYetValid: sign({ sub: String(user.id), typ: 'access', nbf: now + 3600, exp: now + 7200 }),
      algNone: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: String(user.id), typ: 'access', exp: now + 60 })}.`,
      nonNumericSub: sign({ sub: 'admin', typ: 'access', exp: now + 60 }),
    };
    for (const [name, token] of Object.entries(bad)) {
      const res = await api(gw0, 'GET', '/api/chats/conversations', { token });
      expect({ name, status: res.status, body: res.body }).toEqual({
        name,
        status: 401,
        body: { statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' },
      });
    }
  });
});

describe('users', () => {
  it('looks users up by id, by username (case-insensitive) and as "me", without their hash', async () => {
    const { user, tokens } = await registerUser(gw0, 'Lookup');
    const other = await registerUser(gw1, 'seek');
    expect((await api(gw1, 'GET', '/api/users/me', { token: tokens.access })).body).toEqual(user);
    expect((await api(gw0, 'GET', `/api/users/${other.user.id}`, { token: tokens.access })).body).toEqual(
      other.user,
    );
    const byName = await api(gw1, 'GET', `/api/users?username=${other.user.username.toUpperCase()}`, {
      token: tokens.access,
    });
    expect(byName).toEqual({ status: 200, body: other.user });
    expect(
      (await api(gw0, 'GET', '/api/users?username=nobody-at-all', { token: tokens.access })).status,
    ).toBe(404);
    expect((await api(gw0, 'GET', '/api/users?username=x', { token: tokens.access })).status).toBe(400);
    expect((await api(gw0, 'GET', '/api/users/99999999', { token: tokens.access })).status).toBe(404);
    expect((await api(gw0, 'GET', `/api/users/${other.user.id}`)).status).toBe(401);
  });
});

describe('conversations and messages', () => {
  let alice: AuthResult;
  let bob: AuthResult;
  let carol: AuthResult;
  let conversation: Conversation;

  beforeAll(async () => {
    [alice, bob, carol] = await Promise.all([
      registerUser(gw0, 'alice'),
      registerUser(gw0, 'bob'),
      registerUser(gw1, 'carol'),
    ]);
  });

  it('creates the 1:1 conversation once, whoever asks and in whichever order (201, then 200)', async () => {
    const created = await api<Conversation>(gw0, 'POST', '/api/chats/conversations', {
      token: alice.tokens.access,
      body: { sender_id: alice.user.id, receiver_id: bob.user.id },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(Number),
      sender_id: alice.user.id,
      receiver_id: bob.user.id,
      created_at: expect.any(String),
      last_seq: 0,
      last_message: null,
      unread_count: 0,
      type: 'direct',
      title: null,
      member_count: 2,
      metadata: {},
      version: 0,
      my_role: 'member',
      muted: false,
      muted_until: null,
    });
    conversation = created.body;
    const again = await api<Conversation>(gw1, 'POST', '/api/chats/conversations', {
      token: bob.tokens.access,
      body: { receiver_id: alice.user.id },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(conversation.id);
    expect(again.body.sender_id).toBe(alice.user.id); // still the creator
  });

  it('refuses a conversation with oneself (400), an unknown receiver (404), and another sender_id (403)', async () => {
    const self = await api(gw0, 'POST', '/api/chats/conversations', {
      token: alice.tokens.access,
      body: { receiver_id: alice.user.id },
    });
    expect(self.status).toBe(400);
    const unknown = await api(gw0, 'POST', '/api/chats/conversations', {
      token: alice.tokens.access,
      body: { receiver_id: 987654321 },
    });
    expect(unknown).toEqual({
      status: 404,
      body: { statusCode: 404, message: 'User not found', error: 'Not Found' },
    });
    const other = await api(gw0, 'POST', '/api/chats/conversations', {
      token: alice.tokens.access,
      body: { sender_id: bob.user.id, receiver_id: carol.user.id },
    });
    expect(other.status).toBe(403);
  });

  it('sends over REST, idempotently on client_message_id, and numbers messages 1, 2, 3…', async () => {
    const send = (token: string, content: string, client_message_id?: string) =>
      api<Message>(gw0, 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
        token,
        body: { message_type: 'text', content, ...(client_message_id ? { client_message_id } : {}) },
      });
    const first = await send(alice.tokens.access, 'Hello <b>Bob</b> & co', 'c-1');
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: expect.any(Number),
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      seq: 1,
      timestamp: expect.any(String),
      message_type: 'text',
      content: 'Hello <b>Bob</b> & co', // stored as given: rendering is the client's job
      client_message_id: 'c-1',
      conversation: { id: conversation.id, sender_id: alice.user.id, receiver_id: bob.user.id },
      version: 1,
      edited_at: null,
      deleted_at: null,
      reply_to_id: null,
      attachments: [],
      metadata: {},
      reactions: [],
    });
    const retry = await send(alice.tokens.access, 'Hello <b>Bob</b> & co', 'c-1');
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    // The same key from another sender is another message.
    expect((await send(bob.tokens.access, 'hi', 'c-1')).body.seq).toBe(2);
    expect((await send(bob.tokens.access, 'how are you?')).body.seq).toBe(3);
    const image = await api<Message>(gw1, 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
      token: bob.tokens.access,
      body: { message_type: 'image', content: 'https://example.com/cat.png' },
    });
    expect(image.body.seq).toBe(4);
    expect(await countRows('messages')).toBe(4);
  });

  it('pages history by page, before_seq and after_seq, ascending within a page', async () => {
    for (let i = 5; i <= 25; i++) {
      await api(gw0, 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
        token: alice.tokens.access,
        body: { message_type: 'text', content: `m${i}` },
      });
    }
    const seqs = (page: MessagePage) => page.messages.map((m) => m.seq);
    const get = async (query: string) =>
      (
        await api<MessagePage>(gw1, 'GET', `/api/chats/conversations/${conversation.id}/messages?${query}`, {
          token: bob.tokens.access,
        })
      ).body;

    const page1 = await get('page=1&limit=10');
    expect(seqs(page1)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(page1.has_more).toBe(true);
    expect(seqs(await get('page=3&limit=10'))).toEqual([1, 2, 3, 4, 5]);
    expect((await get('page=3&limit=10')).has_more).toBe(false);
    expect(seqs(await get('page=9&limit=10'))).toEqual([]);
    expect(seqs(await get(''))).toHaveLength(20); // default limit

    expect(seqs(await get('before_seq=6&limit=3'))).toEqual([3, 4, 5]);
    expect((await get('before_seq=6&limit=3')).has_more).toBe(true);
    expect((await get('before_seq=4&limit=3')).has_more).toBe(false);
    expect(seqs(await get('after_seq=0&limit=3'))).toEqual([1, 2, 3]);
    expect(seqs(await get('after_seq=22&limit=10'))).toEqual([23, 24, 25]);
    expect((await get('after_seq=22&limit=10')).has_more).toBe(false);
    expect((await get('after_seq=20&limit=3')).has_more).toBe(true);
  });

  it('lists conversations by recent activity with last_message and unread_count, paged by cursor', async () => {
    // bob has not read anything yet: alice's messages count, his own do not.
    const bobs = await api<ConversationPage>(gw0, 'GET', '/api/chats/conversations', {
      token: bob.tokens.access,
    });
    expect(bobs.status).toBe(200);
    const c = bobs.body.conversations.find((x) => x.id === conversation.id)!;
    expect(c.last_seq).toBe(25);
    expect(c.last_message).toMatchObject({ seq: 25, content: 'm25', sender_id: alice.user.id });
    expect(c.unread_count).toBe(21); // seq 5..25 are alice's and came after bob's own last send (seq 4)
    const alices = await api<ConversationPage>(gw1, 'GET', '/api/chats/conversations', {
      token: alice.tokens.access,
    });
    expect(alices.body.conversations.find((x) => x.id === conversation.id)!.unread_count).toBe(0);

    // carol starts conversations with 5 new users; the list pages newest-first without repeats.
    const others = await Promise.all(Array.from({ length: 5 }, () => registerUser(gw0, 'o')));
    for (const o of others) {
      await api(gw0, 'POST', '/api/chats/conversations', {
        token: carol.tokens.access,
        body: { receiver_id: o.user.id },
      });
    }
    await api(gw0, 'POST', '/api/chats/conversations', {
      token: carol.tokens.access,
      body: { receiver_id: alice.user.id },
    });
    const seen: number[][] = [];
    let cursor: string | null = null;
    do {
      const res: { body: ConversationPage } = await api<ConversationPage>(
        gw0,
        'GET',
        `/api/chats/conversations?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { token: carol.tokens.access },
      );
      seen.push(res.body.conversations.map((x) => x.receiver_id!));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen.map((p) => p.length)).toEqual([2, 2, 2]);
    expect(seen.flat()).toEqual([alice.user.id, ...others.map((o) => o.user.id).reverse()]);
  });

  it('moves read marks forward only, capped at the latest message, and drops unread_count', async () => {
    const read = (body: object, token = bob.tokens.access) =>
      api<{ conversationId: number; seq: number }>(
        gw0,
        'POST',
        `/api/chats/conversations/${conversation.id}/read`,
        { token, body },
      );
    expect((await read({ seq: 10 })).body).toEqual({ conversationId: conversation.id, seq: 10 });
    expect((await read({ seq: 7 })).body.seq).toBe(10); // never back
    expect((await read({ seq: 999 })).body.seq).toBe(25); // past last_seq counts as last_seq
    expect((await read({})).body.seq).toBe(25);
    const c = await api<Conversation>(gw1, 'GET', `/api/chats/conversations/${conversation.id}`, {
      token: bob.tokens.access,
    });
    expect(c.body.unread_count).toBe(0);
  });

  it('keeps non-participants out of everything, with 404 for unknown and 403 for others’ conversations', async () => {
    const base = `/api/chats/conversations/${conversation.id}`;
    const before = await countRows('messages');
    const attempts = [
      api(gw0, 'GET', base, { token: carol.tokens.access }),
      api(gw0, 'GET', `${base}/messages`, { token: carol.tokens.access }),
      api(gw0, 'POST', `${base}/messages`, {
        token: carol.tokens.access,
        body: { message_type: 'text', content: 'let me in' },
      }),
      api(gw0, 'POST', `${base}/read`, { token: carol.tokens.access, body: {} }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res).toEqual({
        status: 403,
        body: { statusCode: 403, message: 'Unauthorized to access this conversation', error: 'Forbidden' },
      });
    }
    const missing = await api(gw0, 'GET', '/api/chats/conversations/99999999/messages', {
      token: carol.tokens.access,
    });
    expect(missing).toEqual({
      status: 404,
      body: { statusCode: 404, message: 'Conversation not found', error: 'Not Found' },
    });
    expect(await countRows('messages')).toBe(before);
  });

  it('answers bad input on every endpoint with a 4xx and a clear message, and stores nothing', async () => {
    const t = alice.tokens.access;
    const conv = `/api/chats/conversations/${conversation.id}`;
    const counts = async () => [
      await countRows('users'),
      await countRows('conversations'),
      await countRows('messages'),
    ];
    const before = await counts();
    const cases: Array<
      [string, string, { token?: string; body?: unknown; rawBody?: string }, number, RegExp | string]
    > = [
      [
        'POST',
        '/api/auth/register',
        { body: { username: 'ab', password: 'password123' } },
        400,
        'username must be longer than or equal to 3 characters',
      ],
      [
        'POST',
        '/api/auth/register',
        { body: { username: 'bad name!', password: 'password123' } },
        400,
        'username may contain only letters, digits, _ . and -',
      ],
      [
        'POST',
        '/api/auth/register',
        { body: { username: 'okname', password: 'short' } },
        400,
        'password must be longer than or equal to 8 characters',
      ],
      [
        'POST',
        '/api/auth/register',
        { body: { username: 'okname2', password: 'password123', admin: true } },
        400,
        'property admin should not exist',
      ],
      [
        'POST',
        '/api/auth/register',
        { body: { username: 123, password: ['x'] } },
        400,
        'username must be a string',
      ],
      ['POST', '/api/auth/login', { body: {} }, 400, 'username must be a string'],
      ['POST', '/api/auth/refresh', { body: { refresh: 'nope' } }, 400, 'refresh must be a jwt string'],
      [
        'POST',
        '/api/chats/conversations',
        { token: t, body: { receiver_id: '2' } },
        400,
        'receiver_id must be an integer number',
      ],
      ['POST', '/api/chats/conversations', { token: t, body: {} }, 400, 'receiver_id should not be empty'],
      [
        'POST',
        '/api/chats/conversations',
        { token: t, body: { receiver_id: -1 } },
        400,
        /receiver_id must be a positive integer/,
      ],
      [
        'POST',
        '/api/chats/conversations',
        { token: t, body: { receiver_id: 1e300 } },
        400,
        /receiver_id must be/,
      ],
      ['GET', '/api/chats/conversations?limit=0', { token: t }, 400, 'limit must not be less than 1'],
      ['GET', '/api/chats/conversations?limit=101', { token: t }, 400, 'limit must not be greater than 100'],
      ['GET', '/api/chats/conversations?cursor=garbage', { token: t }, 400, 'Invalid cursor'],
      ['GET', '/api/chats/conversations?evil=1', { token: t }, 400, 'property evil should not exist'],
      ['GET', '/api/chats/conversations/abc', { token: t }, 400, 'id must be a positive integer'],
      ['GET', '/api/chats/conversations/0', { token: t }, 400, 'id must be a positive integer'],
      ['GET', `${conv}/messages?limit=500`, { token: t }, 400, 'limit must not be greater than 100'],
      ['GET', `${conv}/messages?page=0`, { token: t }, 400, 'page must not be less than 1'],
      ['GET', `${conv}/messages?page=x`, { token: t }, 400, 'page must be an integer number'],
      [
        'GET',
        `${conv}/messages?before_seq=3&after_seq=1`,
        { token: t },
        400,
        'Use only one of page, before_seq, after_seq and after_version',
      ],
      [
        'POST',
        `${conv}/messages`,
        { token: t, body: { message_type: 'text' } },
        400,
        'content should not be empty',
      ],
      [
        'POST',
        `${conv}/messages`,
        { token: t, body: { message_type: 'video', content: 'x' } },
        400,
        /message_type must be one of the following values/,
      ],
      [
        'POST',
        `${conv}/messages`,
        { token: t, body: { message_type: 'text', content: 'x'.repeat(4001) } },
        400,
        'content must be shorter than or equal to 4000 characters',
      ],
      [
        'POST',
        `${conv}/messages`,
        { token: t, body: { message_type: 'image', content: 'javascript:alert(1)' } },
        400,
        'content must be an http(s) URL for image and file messages',
      ],
      [
        'POST',
        `${conv}/messages`,
        { token: t, body: { message_type: 'text', content: 'a\u0000b' } },
        400,
        'content must be valid text (no NUL characters or unpaired surrogates)',
      ],
      [
        'POST',
        `${conv}/messages`,
        { token: t, rawBody: '{"message_type":"text","content":"\\ud800"}' },
        400,
        'content must be valid text (no NUL characters or unpaired surrogates)',
      ],
      [
        'POST',
        `${conv}/messages`,
        { token: t, body: { message_type: 'text', content: 'x', client_message_id: 'y'.repeat(65) } },
        400,
        'client_message_id must be shorter than or equal to 64 characters',
      ],
      [
        'POST',
        `${conv}/messages`,
        { token: t, body: { message_type: 'text', content: 'x', sender_id: 5 } },
        400,
        'property sender_id should not exist',
      ],
      [
        'POST',
        `${conv}/messages`,
        { token: t, rawBody: '{"message_type": "text", "content": ' },
        400,
        /JSON/,
      ],
      ['POST', `${conv}/messages`, { token: t, rawBody: '["text"]' }, 400, 'payload must be an object'],
      [
        'POST',
        `${conv}/messages`,
        { token: t, rawBody: '{"__proto__":{"admin":true},"message_type":"text","content":"x"}' },
        400,
        /should not exist/,
      ],
      [
        'POST',
        `${conv}/messages`,
        { token: t, rawBody: JSON.stringify({ message_type: 'text', content: 'x'.repeat(2_000_000) }) },
        413,
        /too large/i,
      ],
      ['POST', `${conv}/read`, { token: t, body: { seq: -1 } }, 400, 'seq must not be less than 0'],
      ['POST', `${conv}/read`, { token: t, body: { seq: '5' } }, 400, 'seq must be an integer number'],
    ];
    for (const [method, path, opts, status, message] of cases) {
      const res = await api<{ statusCode: number; message: string | string[] }>(gw0, method, path, opts);
      const text = [res.body?.message ?? res.body].flat().join(', ');
      const input = JSON.stringify(opts.body ?? opts.rawBody)?.slice(0, 80);
      expect(res.status, `${method} ${path} ${input} → ${JSON.stringify(res.body)}`).toBe(status);
      if (typeof message === 'string') expect(text, `${method} ${path}`).toContain(message);
      else expect(text, `${method} ${path}`).toMatch(message);
    }
    expect(await counts()).toEqual(before);
  });

  it('serves Swagger UI at /api/docs and its JSON at /api/docs-json, and health and metrics without a token', async () => {
    expect((await fetch(`${gw0}/api/docs`)).status).toBe(200);
    const doc = await api<{ paths: Record<string, unknown> }>(gw1, 'GET', '/api/docs-json');
    expect(Object.keys(doc.body.paths)).toContain('/api/chats/conversations/{id}/messages');
    expect((await fetch(`${gw0}/health/live`)).status).toBe(200);
    expect((await fetch(`${gw0}/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${gw0}/metrics`)).text()).toContain('parley_rpc_request_seconds_bucket');
  });
});
