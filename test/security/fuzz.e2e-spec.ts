import type { AuthResult, Conversation, Message } from '@parley/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connect,
  connectRecorded,
  registerUser,
  request,
  type ChatClient,
  conversationBetween,
} from '@parley/testing';

// Property-based fuzzing of every REST body (and query) and every Socket.IO event, by mutations of a valid payload:
// a field's value of another type or size, a field removed, an unknown or prototype-polluting key added, a value
// nested deeper than any payload. Each generated payload carries at least one mutation that makes it invalid, so
// every answer must be a refusal: no 2xx, no 5xx, no crash, no error logged, nothing stored changed, and afterwards
// a fresh user's whole flow still works. (test/hostile fuzzes with unstructured values; this file with the
// structure of the contract.) Limits are lifted so that the payloads reach validation rather than a rate limit.

let cluster: Cluster;
let gw: [string, string];
let alice: AuthResult;
let mallory: AuthResult;
let conversation: Conversation;
const sockets: ChatClient[] = [];

beforeAll(async () => {
  const lifted = Object.fromEntries(
    ['MESSAGES', 'TYPING', 'JOINS', 'LEAVES', 'READ_MARKS', 'AUTHENTICATE', 'HISTORY', 'LOOKUPS'].flatMap(
      (k) => [
        [`RATE_LIMIT_${k}_PER_SECOND`, '100000'],
        [`RATE_LIMIT_${k}_BURST`, '100000'],
      ],
    ),
  );
  cluster = await Cluster.start({
    gateways: 2,
    chats: 1,
    gatewayEnv: {
      ...lifted,
      RATE_LIMIT_CONVERSATIONS_PER_MINUTE: '100000',
      RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_LOGIN_FAILURES_PER_USERNAME: '100000',
    },
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
  [alice, mallory] = await Promise.all([registerUser(gw[0], 'fzA'), registerUser(gw[1], 'fzM')]);
  const bob = await registerUser(gw[0], 'fzB');
  conversation = await conversationBetween(gw[0], alice, bob);
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
});

async function snapshot(): Promise<string> {
  const [row] = await cluster.db.sql<{ d: string }>(`SELECT md5(
      coalesce((SELECT string_agg(u::text, ',' ORDER BY id) FROM users u), '') ||
      coalesce((SELECT string_agg(s::text, ',' ORDER BY id) FROM sessions s), '') ||
      coalesce((SELECT string_agg(c::text, ',' ORDER BY id) FROM conversations c), '') ||
      coalesce((SELECT string_agg(p::text, ',' ORDER BY conversation_id, user_id) FROM conversation_participants p), '') ||
      coalesce((SELECT string_agg(m::text, ',' ORDER BY id) FROM messages m), '') ||
      coalesce((SELECT string_agg(e::text, ',' ORDER BY id) FROM membership_events e), '') ||
      coalesce((SELECT string_agg(b::text, ',' ORDER BY blocker_id, blocked_id) FROM user_blocks b), '')) AS d`);
  return row!.d;
}

// ---- the contract's fields, and values each of them refuses ----------------------------------------------------

type Kind =
  | 'id'
  | 'seq'
  | 'username'
  | 'password'
  | 'displayName'
  | 'content'
  | 'messageType'
  | 'cmid'
  | 'jwt'
  | 'bool'
  | 'text'
  | 'queryInt'
  | 'queryLimit'
  | 'queryText'
  | 'queryUsername'
  | 'groupType'
  | 'title'
  | 'idList'
  | 'metadata'
  | 'role'
  | 'until';

/** Values the field's validator must refuse (null is left out for optional fields: it reads as absent). */
const INVALID: Record<Kind, unknown[]> = {
  id: [0, -1, 1.5, '1', 2 ** 53, 1e300, true, [], {}, 'abc', '1; DROP TABLE users'],
  seq: [-1, 0.5, '3', {}, [1], 2 ** 53, 'NaN'],
  username: ['', 'ab', 'x'.repeat(33), 'bad name', 'a/b', 42, [], {}],
  password: ['short', 'x'.repeat(129), 12345678, [], {}, 'nul\u0000byte'],
  displayName: ['', 'x'.repeat(65), 1, [], 'lone \ud800 surrogate'],
  content: ['', 'x'.repeat(4001), 7, {}, ['x'], 'nul\u0000byte', '\udc00'],
  messageType: ['video', '', 'TEXT', 1, [], {}],
  cmid: ['', 'x'.repeat(65), 1, {}, []],
  jwt: ['', 'not a jwt', 'two.parts', 1, {}, [], 'a'.repeat(5000)],
  bool: ['true', 1, 0, {}, [], 'yes'],
  text: ['', 1, {}, [], 'x'.repeat(5000)],
  // In a query string every value is text: a number the wrong shape, or a parameter given twice.
  queryInt: ['0', '-1', '1.5', 'abc', '', '9007199254740993', ['1', '2']],
  queryLimit: ['0', '101', '-5', '2.5', 'ten', '', ['5', '6']],
  queryText: ['', 'x'.repeat(201), ['a', 'b']],
  queryUsername: ['', 'ab', 'x'.repeat(33), 'a b', 'a/b', ['a', 'b']],
  groupType: ['channel', '', 'GROUP', 1, {}, []],
  title: ['', 'x'.repeat(101), 1, {}, [], 'nul\u0000byte'],
  idList: ['all', 1, {}, [0], [-1], ['1'], [1.5], [{}], Array(10_001).fill(1)],
  metadata: [[], 'x', 1, true, { a: { b: { c: { d: 1 } } } }, { big: 'x'.repeat(3000) }],
  role: ['owner', 'admin ', '', 1, {}, []],
  until: ['tomorrow', '2026-13-01T00:00:00Z', 1, {}, [], ''],
};

interface Target {
  name: string;
  fields: Record<string, { kind: Kind; required: boolean }>;
  valid: Record<string, unknown>;
  /** Sends the payload; resolves with the HTTP status (or 0 for a socket ack that succeeded, -1 for a refusal). */
  send: (payload: unknown) => Promise<number>;
}

const f = (kind: Kind, required = true) => ({ kind, required });
const call = (method: string, path: string, token?: string) => async (payload: unknown) =>
  (await api(gw[path.length % 2]!, method, path, { token, rawBody: JSON.stringify(payload) })).status;
const post = (path: string, token?: string) => call('POST', path, token);
/** A query string: text as it is, a list of two or more as the parameter repeated, anything else as JSON. */
const get = (path: string, token: string) => async (payload: unknown) => {
  const text = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(payload as Record<string, unknown>)) {
    if (Array.isArray(v) && v.length >= 2) for (const x of v) query.append(k, text(x));
    else query.append(k, text(v));
  }
  return (await api(gw[1], 'GET', `${path}?${query.toString()}`, { token })).status;
};
let socket: ChatClient;
const emit = (event: string) => async (payload: unknown) => {
  const ack = await request<{ success: boolean; error?: unknown }>(socket, event, payload, 10_000);
  if (typeof ack !== 'object' || ack === null || typeof ack.success !== 'boolean') return 500;
  if (ack.success) return 200;
  return typeof ack.error === 'string' ? 400 : 500;
};

function targets(): Target[] {
  const m = mallory.tokens.access;
  const c = conversation.id;
  return [
    {
      name: 'POST /api/auth/register',
      fields: { username: f('username'), password: f('password'), display_name: f('displayName', false) },
      valid: { username: 'fuzzer', password: 'long enough', display_name: 'Fuzz' },
      send: post('/api/auth/register'),
    },
    {
      name: 'POST /api/auth/login',
      fields: { username: f('text'), password: f('text') },
      valid: { username: alice.user.username, password: 'correct horse battery' },
      send: post('/api/auth/login'),
    },
    {
      name: 'POST /api/auth/refresh',
      fields: { refresh: f('jwt') },
      valid: { refresh: mallory.tokens.refresh },
      send: post('/api/auth/refresh'),
    },
    {
      name: 'POST /api/auth/logout',
      fields: { refresh: f('jwt', false) },
      valid: {},
      send: post('/api/auth/logout', m),
    },
    {
      name: 'POST /api/chats/conversations',
      fields: { sender_id: f('id', false), receiver_id: f('id') },
      valid: { receiver_id: alice.user.id },
      send: post('/api/chats/conversations', m),
    },
    {
      name: 'POST /api/chats/conversations (group)',
      fields: {
        type: f('groupType'),
        title: f('title'),
        member_ids: f('idList'),
        metadata: f('metadata', false),
      },
      valid: { type: 'group', title: 'Fuzz', member_ids: [alice.user.id], metadata: { a: 1 } },
      send: post('/api/chats/conversations', m),
    },
    {
      name: 'PATCH /api/chats/conversations/:id',
      fields: { title: f('title', false), metadata: f('metadata', false) },
      valid: { title: 'Fuzz' },
      send: call('PATCH', `/api/chats/conversations/${c}`, m),
    },
    {
      name: 'POST /api/chats/conversations/:id/members',
      fields: { user_ids: f('idList') },
      valid: { user_ids: [alice.user.id] },
      send: post(`/api/chats/conversations/${c}/members`, m),
    },
    {
      name: 'PATCH /api/chats/conversations/:id/members/:userId',
      fields: { role: f('role') },
      valid: { role: 'admin' },
      send: call('PATCH', `/api/chats/conversations/${c}/members/${alice.user.id}`, m),
    },
    {
      name: 'PUT /api/chats/conversations/:id/mute',
      fields: { until: f('until', false) },
      valid: { until: '2099-01-01T00:00:00.000Z' },
      send: call('PUT', `/api/chats/conversations/${c}/mute`, m),
    },
    {
      name: 'GET /api/chats/conversations/:id/members',
      fields: { cursor: f('queryText', false), limit: f('queryLimit', false) },
      valid: { limit: '5' },
      send: get(`/api/chats/conversations/${c}/members`, m),
    },
    {
      name: 'POST /api/chats/conversations/:id/messages',
      fields: { message_type: f('messageType'), content: f('content'), client_message_id: f('cmid', false) },
      valid: { message_type: 'text', content: 'hello', client_message_id: 'k1' },
      send: post(`/api/chats/conversations/${c}/messages`, m),
    },
    {
      name: 'POST /api/chats/conversations/:id/read',
      fields: { seq: f('seq', false) },
      valid: { seq: 1 },
      send: post(`/api/chats/conversations/${c}/read`, m),
    },
    {
      name: 'GET /api/chats/conversations/:id/messages',
      fields: {
        page: f('id', false),
        limit: f('id', false),
        before_seq: f('id', false),
        after_seq: f('seq', false),
      },
      valid: { limit: '10' },
      send: get(`/api/chats/conversations/${c}/messages`, m),
    },
    {
      name: 'GET /api/chats/conversations',
      fields: { cursor: f('queryText', false), limit: f('queryLimit', false) },
      valid: { limit: '5' },
      send: get('/api/chats/conversations', m),
    },
    {
      name: 'GET /api/users',
      fields: { username: f('username') },
      valid: { username: alice.user.username },
      send: get('/api/users', m),
    },
    {
      name: 'send-message',
      fields: {
        sender_id: f('id'),
        conversation_id: f('id'),
        message_type: f('messageType'),
        content: f('content'),
        client_message_id: f('cmid', false),
      },
      valid: {
        sender_id: mallory.user.id,
        conversation_id: c,
        message_type: 'text',
        content: 'hi',
        client_message_id: 'k2',
      },
      send: emit('send-message'),
    },
    {
      name: 'join-conversation',
      fields: { conversationId: f('id'), userId: f('id'), since_seq: f('seq', false) },
      valid: { conversationId: c, userId: mallory.user.id, since_seq: 0 },
      send: emit('join-conversation'),
    },
    {
      name: 'leave-conversation',
      fields: { conversationId: f('id') },
      valid: { conversationId: c },
      send: emit('leave-conversation'),
    },
    {
      name: 'typing',
      fields: { conversationId: f('id'), userId: f('id'), isTyping: f('bool') },
      valid: { conversationId: c, userId: mallory.user.id, isTyping: true },
      send: emit('typing'),
    },
    {
      name: 'mark-read',
      fields: { conversationId: f('id'), seq: f('seq', false) },
      valid: { conversationId: c },
      send: emit('mark-read'),
    },
    {
      name: 'authenticate',
      fields: { token: f('text') },
      valid: { token: mallory.tokens.access },
      send: emit('authenticate'),
    },
  ];
}

// ---- mutations ---------------------------------------------------------------------------------------------------

type Mutation = (payload: Record<string, unknown>, target: Target) => void;
const nest = (value: unknown, depth: number): unknown => {
  let v = value;
  for (let i = 0; i < depth; i++) v = i % 2 ? { v } : [v];
  return v;
};

/** Mutations that each make the payload invalid on their own (a refusal is then the only right answer). */
const invalidating = (target: Target): fc.Arbitrary<Mutation> => {
  const names = Object.keys(target.fields);
  const required = names.filter((n) => target.fields[n]!.required);
  const options: fc.Arbitrary<Mutation>[] = [
    // a value of the wrong type, size or form
    fc.constantFrom(...names).chain((name) =>
      fc.constantFrom(...INVALID[target.fields[name]!.kind]).map((bad) => (p: Record<string, unknown>) => {
        p[name] = bad;
      }),
    ),
    // an unknown key (refused: unknown fields are not allowed), holding anything
    fc
      .tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.anything({ maxDepth: 2 }))
      .map(([key, value]) => (p: Record<string, unknown>) => {
        if (!(key in target.fields))
          Object.defineProperty(p, `x_${key}`, {
            value,
            enumerable: true,
            configurable: true,
            writable: true,
          });
        else p.x_unknown = value;
      }),
    // a key that could pollute prototypes, at the top or one level down
    fc.constantFrom('__proto__', 'constructor', 'prototype').map((key) => (p: Record<string, unknown>) => {
      Object.defineProperty(p, key, {
        value: { polluted: true },
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }),
    // a value nested deeper than any payload: in a field, or in an unknown one
    fc
      .tuple(fc.constantFrom(...names, 'x_deep'), fc.integer({ min: 9, max: 2000 }))
      .map(([name, depth]) => (p: Record<string, unknown>) => {
        p[name] = nest(p[name] ?? 1, depth);
      }),
  ];
  // a required field removed
  if (required.length > 0)
    options.push(
      fc.constantFrom(...required).map((name) => (p: Record<string, unknown>) => {
        delete p[name];
      }),
    );
  return fc.oneof(...options);
};

/** Mutations that may or may not make it invalid (mixed in, to explore around the invalid one). */
const anyMutation = (target: Target): fc.Arbitrary<Mutation> =>
  fc.oneof(
    invalidating(target),
    fc.constantFrom(...Object.keys(target.fields)).chain((name) =>
      fc
        .oneof(fc.anything({ maxDepth: 3 }), fc.string({ maxLength: 300 }), fc.integer(), fc.double())
        .map((value) => (p: Record<string, unknown>) => {
          p[name] = value;
        }),
    ),
  );

const payloadFor = (target: Target): fc.Arbitrary<Record<string, unknown>> =>
  fc.tuple(invalidating(target), fc.array(anyMutation(target), { maxLength: 2 })).map(([first, rest]) => {
    const payload = structuredClone(target.valid);
    for (const mutate of [...rest, first]) mutate(payload, target); // the invalidating one last: nothing undoes it
    return payload;
  });

// ---- the run -----------------------------------------------------------------------------------------------------

describe('structured fuzzing of every REST body and socket event', () => {
  it('refuses every mutated payload with a 4xx or an error ack; nothing crashes, nothing changes, the service still serves', async () => {
    const recorded = await connectRecorded(gw[0], { token: mallory.tokens.access });
    socket = recorded.socket;
    sockets.push(socket);
    let disconnects = 0;
    socket.on('disconnect', () => disconnects++);
    const before = await snapshot();
    const answered: Record<string, Record<number, number>> = {};
    const wrong: string[] = [];
    let runs = 0;
    for (const target of targets()) {
      answered[target.name] = {};
      await fc.assert(
        fc.asyncProperty(payloadFor(target), async (payload) => {
          runs++;
          const status = await target.send(payload);
          answered[target.name]![status] = (answered[target.name]![status] ?? 0) + 1;
          if (status < 400 || status >= 500)
            wrong.push(`${target.name} ${status} ${JSON.stringify(payload).slice(0, 300)}`);
          return true;
        }),
        { numRuns: 250, seed: 12 },
      );
      // The caller is still logged in: no payload slipped through validation to the handler.
      expect((await api(gw[0], 'GET', '/api/users/me', { token: mallory.tokens.access })).status).toBe(200);
    }
    console.log(`structured fuzzing: ${runs} payloads`, JSON.stringify(answered));
    expect(runs).toBe(250 * targets().length);
    expect(wrong).toEqual([]);
    expect(disconnects).toBe(0);
    expect(socket.connected).toBe(true);
    expect([...cluster.gateways, ...cluster.chats].every((p) => p.alive)).toBe(true);
    const errors = [...cluster.gateways, ...cluster.chats]
      .flatMap((p) => p.logs().split('\n'))
      .filter((l) => /unhandled|"level":"(error|fatal)"|RangeError/i.test(l));
    expect(errors).toEqual([]);
    expect(await snapshot()).toBe(before);
    // No event of alice and bob's conversation reached the outsider.
    expect(recorded.of('receive-message')).toEqual([]);
  });

  it('then serves a fresh user’s whole flow on both gateways', async () => {
    const [ann, ben] = await Promise.all([registerUser(gw[0], 'fzN'), registerUser(gw[1], 'fzO')]);
    const login = await api<AuthResult>(gw[1], 'POST', '/api/auth/login', {
      body: { username: ann.user.username, password: 'correct horse battery' },
    });
    expect(login.status).toBe(200);
    const conv = await api<Conversation>(gw[1], 'POST', '/api/chats/conversations', {
      token: login.body.tokens.access,
      body: { receiver_id: ben.user.id },
    });
    expect(conv.status).toBe(201);
    const a = await connect(gw[0], { token: login.body.tokens.access });
    const b = await connectRecorded(gw[1], { token: ben.tokens.access });
    sockets.push(a, b.socket);
    for (const [s, u] of [
      [a, ann],
      [b.socket, ben],
    ] as const) {
      expect(
        (
          await request<{ success: boolean }>(s, 'join-conversation', {
            conversationId: conv.body.id,
            userId: u.user.id,
          })
        ).success,
      ).toBe(true);
    }
    const sent = await request<{ success: boolean; message: Message }>(a, 'send-message', {
      sender_id: ann.user.id,
      conversation_id: conv.body.id,
      message_type: 'text',
      content: 'after the storm',
    });
    expect(sent.success).toBe(true);
    const [received] = await b.wait<Message>('receive-message');
    expect(received!.id).toBe(sent.message.id);
    const history = await api<{ messages: Message[] }>(
      gw[0],
      'GET',
      `/api/chats/conversations/${conv.body.id}/messages`,
      {
        token: ben.tokens.access,
      },
    );
    expect(history.body.messages.map((m) => m.content)).toEqual(['after the storm']);
    expect(
      (
        await request<{ success: boolean; seq: number }>(b.socket, 'mark-read', {
          conversationId: conv.body.id,
        })
      ).seq,
    ).toBe(1);
    expect((await api(gw[1], 'POST', '/api/auth/logout', { token: login.body.tokens.access })).status).toBe(
      204,
    );
  });
});
