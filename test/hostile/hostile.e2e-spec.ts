import { createHmac, generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthResult, Conversation, Message, MessagePage } from '@parley/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connect,
  connectRecorded,
  REPO_ROOT,
  registerUser,
  request,
  sleep,
  TEST_JWT_SECRET,
  type AppProcess,
  type ChatClient,
} from '@parley/testing';

// Hostile input and access, against 2 gateways and 1 chats service (and one more gateway configured for RS256).
let cluster: Cluster;
let gw: [string, string];
let rsGateway: AppProcess;
let publicKeyPem: string;
let alice: AuthResult;
let bob: AuthResult;
let mallory: AuthResult;
let conversation: Conversation;
const sockets: ChatClient[] = [];

beforeAll(async () => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  publicKeyPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  cluster = await Cluster.start({
    gateways: 2,
    chats: 1,
    // Limits lifted, so that hostile input reaches validation and the handlers rather than a rate limit.
    gatewayEnv: Object.fromEntries(
      ['MESSAGES', 'TYPING', 'JOINS', 'LEAVES', 'READ_MARKS', 'AUTHENTICATE', 'HISTORY', 'LOOKUPS'].flatMap(
        (k) => [
          [`RATE_LIMIT_${k}_PER_SECOND`, '100000'],
          [`RATE_LIMIT_${k}_BURST`, '100000'],
        ],
      ),
    ),
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
  rsGateway = await cluster.startGateway({
    JWT_PUBLIC_KEY: publicKeyPem,
    JWT_PRIVATE_KEY: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    JWT_ISSUER: 'parley-hostile-test',
    JWT_AUDIENCE: 'parley',
  });
  [alice, bob, mallory] = await Promise.all([
    registerUser(gw[0], 'hA'),
    registerUser(gw[1], 'hB'),
    registerUser(gw[0], 'hM'),
  ]);
  conversation = (
    await api<Conversation>(gw[0], 'POST', '/api/chats/conversations', {
      token: alice.tokens.access,
      body: { receiver_id: bob.user.id },
    })
  ).body;
  await api(gw[0], 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
    token: alice.tokens.access,
    body: { message_type: 'text', content: 'private' },
  });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
});

/** A digest of everything stored, to show that hostile traffic changed nothing. */
async function snapshot(): Promise<string> {
  const rows = await cluster.db.sql<{ t: string; d: string }>(`
    SELECT 'users' AS t, md5(coalesce(string_agg(u::text, ',' ORDER BY id), '')) AS d FROM users u
    UNION ALL SELECT 'conversations', md5(coalesce(string_agg(c::text, ',' ORDER BY id), '')) FROM conversations c
    UNION ALL SELECT 'participants', md5(coalesce(string_agg(p::text, ',' ORDER BY conversation_id, user_id), '')) FROM conversation_participants p
    UNION ALL SELECT 'messages', md5(coalesce(string_agg(m::text, ',' ORDER BY id), '')) FROM messages m
    UNION ALL SELECT 'sessions', md5(coalesce(string_agg(s::text, ',' ORDER BY id), '')) FROM sessions s`);
  return rows.map((r) => `${r.t}:${r.d}`).join(' ');
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function hs256(payload: object, secret: string): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

describe('authentication', () => {
  it('refuses expired, not-yet-valid, alg:none, wrong-secret, HS/RS-confused and malformed tokens on REST and at the handshake', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sub = String(alice.user.id);
    const cases: Array<[string, string, string]> = [
      ['expired', gw[0], hs256({ sub, typ: 'access', iat: now - 120, exp: now - 60 }, TEST_JWT_SECRET)],
      [
        'not yet valid',
        gw[0],
        hs256({ sub, typ: 'access', nbf: now + 600, exp: now + 1200 }, TEST_JWT_SECRET),
      ],
      [
        'alg none',
        gw[0],
        `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, typ: 'access', exp: now + 60 })}.`,
      ],
      ['wrong secret', gw[1], hs256({ sub, typ: 'access', exp: now + 60 }, 'not-the-secret-but-long-enough')],
      [
        'HS256 signed with the RS256 public key',
        rsGateway.url,
        hs256({ sub, typ: 'access', exp: now + 60 }, publicKeyPem),
      ],
      [
        'HS256 token at an RS256 gateway',
        rsGateway.url,
        hs256({ sub, typ: 'access', exp: now + 60 }, TEST_JWT_SECRET),
      ],
      ['malformed', gw[0], 'eyJhbGciOiJIUzI1NiJ9.not-json.signature'],
      ['garbage', gw[1], '<script>alert(1)</script>'],
      ['refresh token as access', gw[0], alice.tokens.refresh],
    ];
    for (const [name, url, token] of cases) {
      const rest = await api(url, 'GET', '/api/chats/conversations', { token });
      expect({ name, status: rest.status }).toEqual({ name, status: 401 });
      await expect(connect(url, { token }), name).rejects.toThrow('Unauthorized');
    }
    // The RS256 gateway does accept its own tokens (so the refusals above are about the tokens, not the gateway).
    const reg = await api<AuthResult>(rsGateway.url, 'POST', '/api/auth/register', {
      body: { username: 'rsuser', password: 'password123' },
    });
    expect(
      (await api(rsGateway.url, 'GET', '/api/chats/conversations', { token: reg.body.tokens.access })).status,
    ).toBe(200);
  });

  it('refuses a refresh token replayed after rotation (and what it was rotated into)', async () => {
    const user = await registerUser(gw[0], 'replay');
    const refresh = (url: string, token: string) =>
      api<{ tokens: { refresh: string } }>(url, 'POST', '/api/auth/refresh', { body: { refresh: token } });
    const rotated = await refresh(gw[1], user.tokens.refresh);
    expect(rotated.status).toBe(200);
    // Once its successor has rotated too, the first token is a replay (past the grace for the one just replaced).
    const again = await refresh(gw[0], rotated.body.tokens.refresh);
    expect(again.status).toBe(200);
    expect((await refresh(gw[0], user.tokens.refresh)).status).toBe(401);
    expect((await refresh(gw[1], again.body.tokens.refresh)).status).toBe(401);
  });
});

describe('access', () => {
  it('keeps an outsider out of a conversation by REST and socket, whatever ids they guess, and tells nothing beyond 403/404', async () => {
    const before = await snapshot();
    const t = mallory.tokens.access;
    const foreign = conversation.id;
    const missing = [999_999_999, 2 ** 53 - 1];
    const invalid = ['0', '-1', '1.5', '9007199254740993', '1e3', 'abc', '%00'];

    const rest = async (id: string | number) => [
      await api(gw[0], 'GET', `/api/chats/conversations/${id}`, { token: t }),
      await api(gw[1], 'GET', `/api/chats/conversations/${id}/messages`, { token: t }),
      await api(gw[0], 'POST', `/api/chats/conversations/${id}/messages`, {
        token: t,
        body: { message_type: 'text', content: 'x' },
      }),
      await api(gw[1], 'POST', `/api/chats/conversations/${id}/read`, { token: t, body: {} }),
    ];
    const forbidden = {
      statusCode: 403,
      message: 'Unauthorized to access this conversation',
      error: 'Forbidden',
    };
    const notFound = { statusCode: 404, message: 'Conversation not found', error: 'Not Found' };
    for (const res of await rest(foreign)) expect(res).toEqual({ status: 403, body: forbidden });
    for (const id of missing)
      for (const res of await rest(id)) expect(res).toEqual({ status: 404, body: notFound });
    for (const id of invalid)
      for (const res of await rest(id)) expect({ id, status: res.status }).toEqual({ id, status: 400 });

    const socket = await connectRecorded(gw[1], { token: t });
    sockets.push(socket.socket);
    const ask = (event: string, payload: object) =>
      request<{ success: boolean; error: string }>(socket.socket, event, payload);
    for (const id of [foreign, ...missing]) {
      const expected = id === foreign ? 'Unauthorized' : 'Conversation not found';
      expect((await ask('join-conversation', { conversationId: id, userId: mallory.user.id })).error).toBe(
        id === foreign ? 'Unauthorized to join this conversation' : expected,
      );
      expect(
        (
          await ask('send-message', {
            sender_id: mallory.user.id,
            conversation_id: id,
            message_type: 'text',
            content: 'x',
          })
        ).error,
      ).toBe(expected);
      expect(
        (await ask('typing', { conversationId: id, userId: mallory.user.id, isTyping: true })).error,
      ).toBe(expected);
      expect((await ask('mark-read', { conversationId: id })).error).toBe(expected);
    }
    // Someone else's identity in a payload is refused, even for the right conversation.
    expect(
      (
        await ask('send-message', {
          sender_id: alice.user.id,
          conversation_id: foreign,
          message_type: 'text',
          content: 'x',
        })
      ).error,
    ).toBe('Unauthorized');
    expect((await ask('join-conversation', { conversationId: foreign, userId: alice.user.id })).error).toBe(
      'Unauthorized',
    );
    expect(
      (await ask('typing', { conversationId: foreign, userId: bob.user.id, isTyping: true })).error,
    ).toBe('Unauthorized');
    const asOther = await api(gw[0], 'POST', '/api/chats/conversations', {
      token: t,
      body: { sender_id: alice.user.id, receiver_id: bob.user.id },
    });
    expect(asOther.status).toBe(403);

    // The participants talk; the outsider hears nothing of it.
    const a = await connect(gw[0], { token: alice.tokens.access });
    sockets.push(a);
    await request(a, 'send-message', {
      sender_id: alice.user.id,
      conversation_id: foreign,
      message_type: 'text',
      content: 'secret',
    });
    await sleep(300);
    expect(
      socket.events.filter((e) =>
        ['receive-message', 'user-typing', 'messages-read', 'conversation-updated'].includes(e.event),
      ),
    ).toEqual([]);
    // Only alice's own message was added.
    const after = await snapshot();
    expect(
      after
        .split(' ')
        .filter(
          (p) =>
            !p.startsWith('messages:') && !p.startsWith('conversations:') && !p.startsWith('participants:'),
        ),
    ).toEqual(
      before
        .split(' ')
        .filter(
          (p) =>
            !p.startsWith('messages:') && !p.startsWith('conversations:') && !p.startsWith('participants:'),
        ),
    );
  });
});

describe('fuzzing (fast-check)', () => {
  const ids = () =>
    fc.oneof(
      fc.constant(conversation.id),
      fc.constant(mallory.user.id),
      fc.constant(alice.user.id),
      fc.integer(),
      fc.double(),
      fc.string(),
      fc.constant(null),
      fc.constant(2 ** 63),
      fc.boolean(),
    );
  const anyValue = () =>
    fc.oneof(
      ids(),
      fc.string({ maxLength: 5000 }),
      fc.array(fc.anything(), { maxLength: 5 }),
      fc.anything({ maxDepth: 3 }),
    );
  const payloads = () =>
    fc.oneof(
      { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
      {
        weight: 4,
        arbitrary: fc.record(
          {
            sender_id: ids(),
            conversation_id: ids(),
            conversationId: ids(),
            userId: ids(),
            message_type: fc.oneof(fc.constantFrom('text', 'image', 'file'), fc.string()),
            content: anyValue(),
            client_message_id: anyValue(),
            since_seq: anyValue(),
            isTyping: anyValue(),
            seq: anyValue(),
          },
          { requiredKeys: [] },
        ),
      },
      {
        weight: 1,
        arbitrary: fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'x'), anyValue(), {
          maxKeys: 3,
        }),
      },
    );

  it('10,000+ generated payloads over every socket event and REST body: no crash, no disconnect, no error logged, nothing changed', async () => {
    const before = await snapshot();
    const socket = await connect(gw[0], { token: mallory.tokens.access });
    sockets.push(socket);
    let disconnects = 0;
    socket.on('disconnect', () => disconnects++);
    const events = [
      'send-message',
      'join-conversation',
      'leave-conversation',
      'typing',
      'mark-read',
    ] as const;
    let runs = 0;
    for (const event of events) {
      await fc.assert(
        fc.asyncProperty(payloads(), async (payload) => {
          runs++;
          const ack = await request<{ success: boolean }>(socket, event, payload, 10_000);
          return typeof ack === 'object' && ack !== null && typeof ack.success === 'boolean';
        }),
        { numRuns: 1200, seed: 42 },
      );
    }
    const endpoints: Array<[string, string, string | undefined]> = [
      ['POST', '/api/auth/login', undefined],
      ['POST', '/api/auth/refresh', undefined],
      ['POST', `/api/chats/conversations/${conversation.id}/messages`, mallory.tokens.access],
      ['POST', `/api/chats/conversations/${conversation.id}/read`, mallory.tokens.access],
      ['GET', `/api/chats/conversations/${conversation.id}/messages`, mallory.tokens.access],
      ['GET', '/api/chats/conversations', mallory.tokens.access],
    ];
    for (const [method, path, token] of endpoints) {
      await fc.assert(
        fc.asyncProperty(payloads(), async (payload) => {
          runs++;
          const res =
            method === 'GET'
              ? await api(gw[1], 'GET', `${path}?${queryString(payload)}`, { token })
              : await api(gw[1], method, path, { token, rawBody: JSON.stringify(payload) ?? 'null' });
          // Never a server error: hostile input is refused with a 4xx (or, where it happens to be valid, served).
          return res.status < 500;
        }),
        { numRuns: 700, seed: 7 },
      );
    }
    console.log(`fuzzing: ${runs} generated payloads`);
    expect(runs).toBeGreaterThanOrEqual(10_000);
    expect(disconnects).toBe(0);
    expect(socket.connected).toBe(true);
    expect([...cluster.gateways, ...cluster.chats].every((p) => p.alive)).toBe(true);
    const badLines = [...cluster.gateways, ...cluster.chats]
      .flatMap((p) => p.logs().split('\n'))
      .filter((l) => /unhandled|"level":"(error|fatal)"/i.test(l))
      .map((l) => l.slice(0, 500));
    expect(badLines).toEqual([]);
    expect(await snapshot()).toBe(before);
  });

  it('stores and returns any text exactly as sent (no escaping, no trimming, no normalization)', async () => {
    const socket = await connect(gw[1], { token: alice.tokens.access });
    sockets.push(socket);
    const text = fc
      .string({
        unit: fc.oneof(
          fc.constantFrom(
            '<',
            '>',
            '&',
            '"',
            "'",
            '\\',
            '\n',
            ' ',
            '%',
            ';',
            '--',
            '/*',
            '\u200d',
            '\ufeff',
            "' OR 1=1 --",
          ),
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
        ),
        minLength: 1,
        maxLength: 200,
      })
      .filter((s) => !s.includes('\u0000'));
    await fc.assert(
      fc.asyncProperty(text, fc.boolean(), async (content, viaRest) => {
        const message = viaRest
          ? (
              await api<Message>(gw[0], 'POST', `/api/chats/conversations/${conversation.id}/messages`, {
                token: alice.tokens.access,
                body: { message_type: 'text', content },
              })
            ).body
          : (
              await request<{ message: Message }>(socket, 'send-message', {
                sender_id: alice.user.id,
                conversation_id: conversation.id,
                message_type: 'text',
                content,
              })
            ).message;
        const page = await api<MessagePage>(
          gw[1],
          'GET',
          `/api/chats/conversations/${conversation.id}/messages?before_seq=${message.seq + 1}&limit=1`,
          {
            token: bob.tokens.access,
          },
        );
        return message.content === content && page.body.messages[0]?.content === content;
      }),
      { numRuns: 300, seed: 3 },
    );
    const [row] = await cluster.db.sql<{ content: string }>(
      `SELECT content FROM messages WHERE content LIKE '%<%' LIMIT 1`,
    );
    expect(row?.content).toContain('<');
  });
});

/** Any generated value as a query string (objects become their keys; values are stringified safely). */
function queryString(payload: unknown): string {
  const entries =
    payload !== null && typeof payload === 'object' ? Object.entries(payload) : [['q', payload]];
  const text = (v: unknown): string => {
    try {
      return typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
    } catch {
      return '';
    }
  };
  return new URLSearchParams(entries.map(([k, v]) => [String(k), text(v)] as [string, string])).toString();
}

describe('code', () => {
  it('builds SQL only with parameters: interpolations in query text are the constant column lists', () => {
    const allowed = new Set([
      'MESSAGE_COLUMNS',
      'CONVERSATION_COLUMNS',
      'CONVERSATION_STATE_COLUMNS',
      'MEMBER_VIEW_COLUMNS',
      'MY_REACTIONS_COLUMN',
      'USER_COLUMNS',
      'ENDPOINT_COLUMNS',
    ]);
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts') && !path.endsWith('.spec.ts') && !path.includes('/migrations/'))
          files.push(path);
      }
    };
    walk(join(REPO_ROOT, 'apps/chats/src'));
    const offending: string[] = [];
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/text:\s*`([^`]*)`/g)) {
        for (const [, expr] of match[1]!.matchAll(/\$\{([^}]*)\}/g)) {
          if (!allowed.has(expr!.trim())) offending.push(`${file}: \${${expr}}`);
        }
      }
    }
    expect(files.length).toBeGreaterThan(5);
    expect(offending).toEqual([]);
  });
});
