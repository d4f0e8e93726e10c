import { request as httpRequest } from 'node:http';
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
//
// The message lifecycle's events and routes (edit, delete, react, send's reply_to_id/attachments/metadata, catch-up
// by version) are fuzzed as mallory's own: in her conversation, on her message, where the valid payload would
// succeed, so that a payload validation let through shows as a 2xx and as a changed row (an outsider would only
// ever be answered 403). The reaction's emoji path parameter is fuzzed as raw path bytes, and a second property
// sends arbitrary emojis both ways: what is accepted is stored and answered exactly as sent, by both transports.

let cluster: Cluster;
let gw: [string, string];
let alice: AuthResult;
let mallory: AuthResult;
let conversation: Conversation;
/** Mallory's conversation with bob, and her text message in it: what the lifecycle's targets change. */
let own: Conversation;
let mine: Message;
/** Alice's message in alice and bob's conversation: no message mallory may reply to. */
let elsewhere: Message;
const sockets: ChatClient[] = [];

beforeAll(async () => {
  const lifted = Object.fromEntries(
    [
      'MESSAGES',
      'MESSAGE_CHANGES',
      'TYPING',
      'JOINS',
      'LEAVES',
      'READ_MARKS',
      'AUTHENTICATE',
      'HISTORY',
      'LOOKUPS',
    ].flatMap((k) => [
      [`RATE_LIMIT_${k}_PER_SECOND`, '100000'],
      [`RATE_LIMIT_${k}_BURST`, '100000'],
    ]),
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
  own = await conversationBetween(gw[1], mallory, bob);
  const send = async (user: AuthResult, conversationId: number, content: string) => {
    const res = await api<Message>(gw[0], 'POST', `/api/chats/conversations/${conversationId}/messages`, {
      token: user.tokens.access,
      body: { message_type: 'text', content },
    });
    expect(res.status).toBe(201);
    return res.body;
  };
  mine = await send(mallory, own.id, 'mine');
  elsewhere = await send(alice, conversation.id, 'elsewhere');
  INVALID.replyTo.push(elsewhere.id);
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
      coalesce((SELECT string_agg(b::text, ',' ORDER BY blocker_id, blocked_id) FROM user_blocks b), '') ||
      coalesce((SELECT string_agg(r::text, ',' ORDER BY message_id, user_id, emoji) FROM message_reactions r), '')
    ) AS d`);
  return row!.d;
}
// Each row is read whole (row::text), so the lifecycle's columns are in it: messages.version, edited_at,
// deleted_at, reply_to_id, attachments, metadata and reactions, and conversations.version.

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
  | 'until'
  | 'sendContent'
  | 'editContent'
  | 'emoji'
  | 'version'
  | 'queryVersion'
  | 'replyTo'
  | 'attachments'
  | 'messageMetadata';

const attachment = { type: 'image', url: 'https://cdn.example.com/a.png', width: 64, height: 48 };

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
  // the message lifecycle
  sendContent: ['x'.repeat(4001), 7, {}, ['x'], 'nul\u0000byte', '\udc00', null], // '' is fine with attachments
  editContent: ['', 'x'.repeat(4001), 7, {}, ['x'], 'nul\u0000byte', '\udc00', null], // '': mine has no files
  emoji: ['', 'x'.repeat(33), '❤️'.repeat(17), 1, {}, [], true, 'nul\u0000', '\ud800', 'x\udc00', null],
  version: [-1, 0.5, '3', {}, [1], 2 ** 53, 'NaN', true, '0'],
  queryVersion: ['-1', '1.5', 'abc', '9007199254740993', 'NaN', 'Infinity', ['1', '2']],
  // and, added at the start, a message of another conversation
  replyTo: [0, -1, 1.5, '1', 2 ** 53, true, [], {}, 'abc', Number.MAX_SAFE_INTEGER],
  attachments: [
    {},
    'x',
    1,
    [1],
    [null],
    attachment,
    [{ ...attachment, type: 'gif' }],
    [{ type: 'image' }],
    [{ ...attachment, url: 'ftp://cdn.example.com/a.png' }],
    [{ ...attachment, url: 'javascript:alert(1)' }],
    [{ ...attachment, url: 'https://' }],
    [{ ...attachment, url: `https://cdn.example.com/${'a'.repeat(2048)}` }],
    [{ ...attachment, url: 'https://cdn.example.com/\u0000' }],
    [{ ...attachment, name: 'x'.repeat(256) }],
    [{ ...attachment, name: 'nul\u0000' }],
    [{ ...attachment, name: '\ud800' }],
    [{ ...attachment, mime_type: 'x'.repeat(128) }],
    [{ ...attachment, size: -1 }],
    [{ ...attachment, size: 1.5 }],
    [{ ...attachment, size: 2 ** 53 }],
    [{ ...attachment, width: 0 }],
    [{ ...attachment, height: 100_001 }],
    [{ ...attachment, width: '64' }],
    [{ ...attachment, extra: true }],
    Array.from({ length: 11 }, () => attachment),
  ],
  messageMetadata: [
    [],
    'x',
    1,
    true,
    { a: { b: { c: { d: 1 } } } },
    { a: [[[1]]] },
    { big: 'x'.repeat(3000) },
    { big: 'é'.repeat(1100) }, // 2 KB is bytes: 1100 characters, 2200 bytes
    { s: 'nul\u0000' },
    { s: '\ud800' },
  ],
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
    // ---- the message lifecycle, on mallory's own conversation and message (valid, each of these would succeed)
    {
      name: 'POST /api/chats/conversations/:id/messages (reply, attachments, metadata)',
      fields: {
        message_type: f('messageType'),
        content: f('sendContent'),
        client_message_id: f('cmid', false),
        reply_to_id: f('replyTo', false),
        attachments: f('attachments', false),
        metadata: f('messageMetadata', false),
      },
      valid: {
        message_type: 'text',
        content: '',
        client_message_id: 'k4',
        reply_to_id: mine.id,
        attachments: [attachment],
        metadata: { a: { b: 1 } },
      },
      send: post(`/api/chats/conversations/${own.id}/messages`, m),
    },
    {
      name: 'PATCH /api/chats/conversations/:id/messages/:messageId',
      fields: { content: f('editContent') },
      valid: { content: 'edited' },
      send: call('PATCH', `/api/chats/conversations/${own.id}/messages/${mine.id}`, m),
    },
    {
      name: 'GET /api/chats/conversations/:id/messages?after_version',
      fields: { after_version: f('queryVersion', false), limit: f('queryLimit', false) },
      valid: { after_version: '0', limit: '10' },
      send: get(`/api/chats/conversations/${own.id}/messages`, m),
    },
    {
      name: 'send-message (reply, attachments, metadata)',
      fields: {
        sender_id: f('id'),
        conversation_id: f('id'),
        message_type: f('messageType'),
        content: f('sendContent'),
        client_message_id: f('cmid', false),
        reply_to_id: f('replyTo', false),
        attachments: f('attachments', false),
        metadata: f('messageMetadata', false),
      },
      valid: {
        sender_id: mallory.user.id,
        conversation_id: own.id,
        message_type: 'text',
        content: '',
        client_message_id: 'k5',
        reply_to_id: mine.id,
        attachments: [attachment],
        metadata: { a: 1 },
      },
      send: emit('send-message'),
    },
    {
      name: 'edit-message',
      fields: { conversationId: f('id'), messageId: f('id'), content: f('editContent') },
      valid: { conversationId: own.id, messageId: mine.id, content: 'edited over socket' },
      send: emit('edit-message'),
    },
    {
      name: 'delete-message',
      fields: { conversationId: f('id'), messageId: f('id') },
      valid: { conversationId: own.id, messageId: mine.id },
      send: emit('delete-message'),
    },
    {
      name: 'react',
      fields: { conversationId: f('id'), messageId: f('id'), emoji: f('emoji'), add: f('bool') },
      valid: { conversationId: own.id, messageId: mine.id, emoji: '👍', add: true },
      send: emit('react'),
    },
    {
      name: 'join-conversation (since_version)',
      fields: { conversationId: f('id'), userId: f('id'), since_version: f('version', false) },
      valid: { conversationId: own.id, userId: mallory.user.id, since_version: 0 },
      send: emit('join-conversation'),
    },
  ];
}

// ---- the reaction's path: raw bytes, as a client that encodes them itself (or not at all) may send them ----------

/** A request with the path exactly as given (fetch would normalize it: dot segments, its own encoding). */
function rawRequest(method: string, path: string, token: string): Promise<{ status: number; body: unknown }> {
  const url = new URL(gw[path.length % 2]!);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode!, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * A path segment for `text`: every code point percent-encoded as UTF-8 (`.` too, so that no segment reads as a dot
 * segment), and a lone surrogate as the 3 bytes CESU-8 would give it (no valid UTF-8 decodes to it).
 */
function segment(text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch.isWellFormed()) out += encodeURIComponent(ch).replace(/\./g, '%2E');
    else {
      const u = ch.charCodeAt(0);
      out += [0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    }
  }
  return out;
}

/** Emoji path segments the route must refuse (as raw path text): malformed, or text no emoji may be. */
const invalidEmojiSegment: fc.Arbitrary<string> = fc.oneof(
  // percent-encodings that decode to no valid text: truncated, overlong, lone surrogates, past U+10FFFF, NUL
  fc.constantFrom(
    '%',
    '%%',
    '%2',
    '%G0',
    'a%',
    '%FF',
    '%C0%80',
    '%C0%AF',
    '%E2%82',
    '%F0%9F%91',
    '%ED%A0%80',
    '%ED%B0%80',
    '%F4%90%80%80',
    '%00',
    'a%00b',
    '%F0%9F%91%8D%00',
  ),
  // longer than 32 UTF-16 units: ASCII, any text, emoji sequences (joiners, flags, skin tones)
  fc.string({ minLength: 33, maxLength: 80 }).map(segment),
  fc
    .string({ unit: 'binary', minLength: 17, maxLength: 60 })
    .filter((t) => t.length > 32)
    .map(segment),
  fc
    .array(fc.constantFrom('👍', '👍🏽', '❤️', '🏳️‍🌈', '👨‍👩‍👧‍👦', '🇺🇳', 'x'), { minLength: 1, maxLength: 40 })
    .map((parts) => parts.join(''))
    .filter((t) => t.length > 32)
    .map(segment),
  // anything with a NUL or a lone surrogate in it
  fc
    .tuple(
      fc.string({ maxLength: 10 }),
      fc.constantFrom('\u0000', '\ud800', '\udfff'),
      fc.string({ maxLength: 10 }),
    )
    .map(([a, bad, b]) => segment(a + bad + b)),
);
/** Id path segments ParseIdPipe must refuse (as raw path text). */
const invalidIdSegment = fc.constantFrom(
  '0',
  '-1',
  '1.5',
  '1e3',
  'abc',
  '9007199254740993',
  '0x1',
  '%2B1',
  '%201',
  '1%00',
  '%',
  '%ED%A0%80',
);

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
    // The reaction routes' path: a bad emoji, a bad message id or a bad conversation id (or several), as raw path
    // text, on mallory's own message: every one refused with a 4xx.
    const paths: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('PUT', 'DELETE'),
        fc.oneof(
          fc.record({
            c: fc.constant(String(own.id)),
            m: fc.constant(String(mine.id)),
            e: invalidEmojiSegment,
          }),
          fc.record({ c: fc.constant(String(own.id)), m: invalidIdSegment, e: fc.constant(segment('👍')) }),
          fc.record({ c: invalidIdSegment, m: fc.constant(String(mine.id)), e: fc.constant(segment('👍')) }),
          fc.record({ c: fc.constant(String(own.id)), m: invalidIdSegment, e: invalidEmojiSegment }),
        ),
        async (method, { c, m, e }) => {
          const path = `/api/chats/conversations/${c}/messages/${m}/reactions/${e}`;
          const { status } = await rawRequest(method, path, mallory.tokens.access);
          paths[status] = (paths[status] ?? 0) + 1;
          if (status < 400 || status >= 500) wrong.push(`${method} ${path} ${status}`);
          return true;
        },
      ),
      { numRuns: 400, seed: 14 },
    );
    answered['PUT/DELETE …/messages/:messageId/reactions/:emoji (raw path)'] = paths;
    console.log(`structured fuzzing: ${runs} payloads`, JSON.stringify(answered));
    expect(runs).toBe(250 * targets().length);
    // Soft: a payload let through does not hide what else went wrong (a crash, a log line, a changed row).
    expect.soft(wrong).toEqual([]);
    expect(disconnects).toBe(0);
    expect(socket.connected).toBe(true);
    expect([...cluster.gateways, ...cluster.chats].every((p) => p.alive)).toBe(true);
    const errors = [...cluster.gateways, ...cluster.chats]
      .flatMap((p) => p.logs().split('\n'))
      .filter((l) => /unhandled|"level":"(error|fatal)"|RangeError/i.test(l));
    expect.soft(errors).toEqual([]);
    expect.soft(await snapshot()).toBe(before);
    // No event of alice and bob's conversation reached the outsider, and nothing changed anywhere.
    expect(recorded.of('receive-message')).toEqual([]);
    expect(recorded.of('message-updated')).toEqual([]);
    expect(recorded.of('message-sent')).toEqual([]);
  });

  it('stores and answers any emoji it accepts exactly as sent, and both transports accept the same ones', async () => {
    const s = await connect(gw[0], { token: mallory.tokens.access });
    sockets.push(s);
    const target = (
      await api<Message>(gw[1], 'POST', `/api/chats/conversations/${own.id}/messages`, {
        token: mallory.tokens.access,
        body: { message_type: 'text', content: 'react to me' },
      })
    ).body;
    const route = (emoji: string) =>
      `/api/chats/conversations/${own.id}/messages/${target.id}/reactions/${segment(emoji)}`;
    /** The contract's rule: 1–32 UTF-16 units of text Postgres stores as given. */
    const acceptable = (e: string) =>
      e.length >= 1 && e.length <= 32 && e.isWellFormed() && !e.includes('\u0000');
    const stored = async () =>
      (
        await cluster.db.sql<{ emoji: string }>('SELECT emoji FROM message_reactions WHERE message_id = $1', [
          target.id,
        ])
      ).map((r) => r.emoji);
    const emojis = fc.oneof(
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 24 }),
      fc
        .array(fc.constantFrom('👍', '👍🏽', '❤️', '🏳️‍🌈', '👨‍👩‍👧‍👦', '🇺🇳', '\u200d', '\ufe0f'), {
          minLength: 1,
          maxLength: 12,
        })
        .map((p) => p.join('')),
      fc.constantFrom(
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        '.',
        '..',
        '/',
        '\\',
        '%',
        '%25',
        '?',
        '#',
        ' ',
        '\t',
        '\n',
        '\ufeff',
        '\u{10ffff}',
        '\uffff',
        '"',
        "'",
        '{}',
        'null',
        "'; DROP TABLE message_reactions; --",
        '<script>',
        'x'.repeat(32),
        '\ud800',
        '\u0000',
      ),
    );
    const problems: string[] = [];
    await fc.assert(
      fc.asyncProperty(emojis, fc.boolean(), async (emoji, socketFirst) => {
        const ok = acceptable(emoji);
        const label = JSON.stringify(emoji);
        // Added over one transport, removed over the other.
        const add = socketFirst
          ? await request<{ success: boolean; error?: string; message?: Message }>(s, 'react', {
              conversationId: own.id,
              messageId: target.id,
              emoji,
              add: true,
            })
          : await rawRequest('PUT', route(emoji), mallory.tokens.access);
        const added = 'success' in add ? add.success : add.status === 200;
        const status = 'status' in add ? add.status : added ? 200 : 400;
        if (status >= 500) problems.push(`add ${label}: ${status}`);
        if (added !== ok)
          problems.push(`add ${label} over ${socketFirst ? 'Socket.IO' : 'REST'}: accepted ${added}`);
        if (!added) return true;
        const message = ('message' in add ? add.message : (add as { body: Message }).body)!;
        if (!message.reactions.some((r) => r.emoji === emoji && r.count === 1))
          problems.push(`add ${label}: answered ${JSON.stringify(message.reactions)}`);
        if (!(await stored()).includes(emoji))
          problems.push(`add ${label}: stored ${JSON.stringify(await stored())}`);
        const viaSocket = (add: boolean) =>
          request<{ success: boolean; error?: string; message?: Message }>(s, 'react', {
            conversationId: own.id,
            messageId: target.id,
            emoji,
            add,
          });
        const remove = socketFirst
          ? await rawRequest('DELETE', route(emoji), mallory.tokens.access)
          : await viaSocket(false);
        const removed = 'success' in remove ? remove.success : remove.status === 200;
        if (!removed) problems.push(`remove ${label}: ${JSON.stringify(remove)}`);
        if ((await stored()).includes(emoji)) {
          problems.push(`remove ${label}: still stored`);
          // Taken off the way it came, so that the next runs start clean.
          if (socketFirst) await viaSocket(false);
          else await rawRequest('DELETE', route(emoji), mallory.tokens.access);
        }
        return true;
      }),
      { numRuns: 300, seed: 15 },
    );
    // The snapshot sees reactions (and the versions they take): an accepted one changes it.
    const beforeThumbs = await snapshot();
    expect((await rawRequest('PUT', route('👍'), mallory.tokens.access)).status).toBe(200);
    expect(await snapshot()).not.toBe(beforeThumbs);
    expect(problems).toEqual([]);
    expect(s.connected).toBe(true);
    expect([...cluster.gateways, ...cluster.chats].every((p) => p.alive)).toBe(true);
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
    // and the lifecycle: an edit (socket), a reaction (REST, on the other gateway), a deletion; ben sees each
    const edited = await request<{ success: boolean; message: Message }>(a, 'edit-message', {
      conversationId: conv.body.id,
      messageId: sent.message.id,
      content: 'after the storm, edited',
    });
    expect(edited.success).toBe(true);
    const path = `/api/chats/conversations/${conv.body.id}/messages/${sent.message.id}`;
    const reacted = await api<Message>(gw[1], 'PUT', `${path}/reactions/${encodeURIComponent('🌈')}`, {
      token: ben.tokens.access,
    });
    expect(reacted.body.reactions).toEqual([{ emoji: '🌈', count: 1 }]);
    expect((await api(gw[0], 'DELETE', path, { token: login.body.tokens.access })).status).toBe(200);
    const updates = await b.wait<{ change: { kind: string } }>('message-updated', 3);
    expect(updates.map((u) => u.change.kind)).toEqual(['edited', 'reaction_added', 'deleted']);
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
