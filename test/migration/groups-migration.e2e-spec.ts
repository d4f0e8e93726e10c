import type {
  AuthResult,
  Conversation,
  ConversationPage,
  MemberPage,
  UnreadSummary,
} from '@parley/contracts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type ApiResponse,
  Cluster,
  connect,
  deleteKeys,
  deploymentEnv,
  request,
  TEST_REDIS_URL,
  TestDatabase,
  uniquePrefix,
  type ChatClient,
} from '@parley/testing';
import { OldBuild, type OldProcess } from './old-build.js';

/*
 * The groups migration must keep everything a database filled by today's main holds. Today's main (6b00c1c) is
 * built from git in a temporary folder, migrated, started and filled through its own REST API and Socket.IO; what
 * its API answers is recorded; then this repository's build is started on the same database (its `migrate` runs
 * first, as in a deploy) and must answer the same, plus the new fields with the values a 1:1 conversation gets.
 */
const TODAYS_MAIN = '6b00c1c';
const PASSWORD = 'correct horse battery';

// The old build's wire types, frozen here: today's contracts will change under this test, the old answers won't.
interface OldUser {
  id: number;
  username: string;
  display_name: string;
  created_at: string;
}
interface OldMessage {
  id: number;
  sender_id: number;
  conversation_id: number;
  seq: number;
  timestamp: string;
  message_type: 'text' | 'image' | 'file';
  content: string;
  client_message_id: string | null;
  conversation: { id: number; sender_id: number; receiver_id: number };
}
interface OldConversation {
  id: number;
  sender_id: number;
  receiver_id: number;
  created_at: string;
  last_seq: number;
  last_message: OldMessage | null;
  unread_count: number;
}

const USERS = ['alice', 'bob', 'carol', 'dave'] as const;
type Name = (typeof USERS)[number];

/** Each 1:1 conversation as [creator, other]: the creator POSTs it, so it is the old `sender_id`. */
const PAIRS = {
  ab: ['alice', 'bob'],
  bc: ['bob', 'carol'],
  ca: ['carol', 'alice'],
  da: ['dave', 'alice'], // never gets a message
  db: ['dave', 'bob'],
} as const satisfies Record<string, readonly [Name, Name]>;
type Pair = keyof typeof PAIRS;

type Step =
  | { by: Name; in: Pair; send: string; image?: true; cmid?: string; via: 'rest' | 'socket' }
  | { by: Name; in: Pair; readTo: number | 'latest'; via: 'rest' | 'socket' };

/**
 * What the old build is made to store, in this order (the list order follows from it). Sending moves the sender's
 * own read mark to the message it sent, so the marks that /read and mark-read set are those above that.
 */
const SCRIPT: Step[] = [
  { by: 'alice', in: 'ab', send: 'hi bob', cmid: 'alice-1', via: 'rest' },
  { by: 'bob', in: 'ab', send: 'hi alice 👋', cmid: 'bob-1', via: 'socket' },
  { by: 'bob', in: 'bc', send: 'hey carol', via: 'socket' },
  {
    by: 'alice',
    in: 'ab',
    send: 'https://images.example.com/cat.png',
    image: true,
    cmid: 'alice-2',
    via: 'socket',
  },
  { by: 'carol', in: 'ca', send: 'hello alice', via: 'rest' },
  { by: 'alice', in: 'ab', send: 'are you there?', via: 'rest' },
  { by: 'bob', in: 'ab', readTo: 3, via: 'rest' },
  { by: 'alice', in: 'ca', send: 'hello carol', cmid: 'alice-3', via: 'socket' },
  { by: 'bob', in: 'bc', send: "what's up?", cmid: 'bob-2', via: 'rest' },
  { by: 'bob', in: 'ab', readTo: 2, via: 'rest' }, // a read mark never moves back: stays 3
  { by: 'carol', in: 'bc', readTo: 2, via: 'rest' },
  { by: 'alice', in: 'ab', send: 'thanks', via: 'rest' },
  { by: 'carol', in: 'ca', send: 'bye', via: 'socket' },
  { by: 'bob', in: 'bc', send: 'you there?', via: 'rest' },
  { by: 'carol', in: 'bc', readTo: 1, via: 'rest' }, // stays 2
  { by: 'carol', in: 'ca', send: 'see you', cmid: 'carol-1', via: 'rest' },
  { by: 'alice', in: 'ca', readTo: 3, via: 'socket' },
  { by: 'dave', in: 'da', readTo: 'latest', via: 'rest' }, // on an empty conversation: 0
  { by: 'bob', in: 'db', send: 'welcome dave', via: 'rest' },
];

/** What the old API answered, once everything was stored. */
interface Snapshot {
  users: Record<Name, OldUser>;
  /** A refresh token of each user's old session. */
  refresh: Record<Name, string>;
  conversations: Record<Pair, OldConversation>;
  /** GET /api/chats/conversations of each user, in list order. */
  lists: Record<Name, OldConversation[]>;
  /** Every message of each conversation, ascending seq. */
  histories: Record<Pair, OldMessage[]>;
  /** Each participant's read mark, from the join-conversation acknowledgement. */
  readMarks: Record<Pair, Partial<Record<Name, number>>>;
}

let db: TestDatabase | undefined;
let old: OldBuild | undefined;
const oldProcesses: OldProcess[] = [];
const oldPrefix = uniquePrefix('migration-old');
let snapshot: Snapshot;

beforeAll(async () => {
  old = await OldBuild.build(TODAYS_MAIN);
  db = await new TestDatabase().create();
  const env = deploymentEnv(db.url, TEST_REDIS_URL, oldPrefix);
  await old.command('chats', ['migrate'], env);
  oldProcesses.push(await old.start('chats', 'old-chats', env));
  const gateway = await old.start('gateway', 'old-gateway', env);
  oldProcesses.push(gateway);
  try {
    snapshot = await fill(gateway.url);
  } catch (err) {
    throw new Error(`Filling the old build failed: ${(err as Error).message}\n${oldLogs()}`, { cause: err });
  }
  // Stopped as a deploy stops them, before the new build migrates.
  await Promise.all(oldProcesses.map((p) => p.stop()));
}, 300_000);

afterAll(async () => {
  await Promise.all(oldProcesses.map((p) => p.stop('SIGKILL')));
  await db?.drop().catch((err: unknown) => console.error('could not drop the test database', err));
  await deleteKeys(oldPrefix).catch(() => undefined);
  await old?.remove();
});

function oldLogs(): string {
  return oldProcesses.map((p) => `----- ${p.name}\n${p.logs()}`).join('\n');
}

/** Registers the users, runs SCRIPT against the old gateway and records what its API answers. */
async function fill(url: string): Promise<Snapshot> {
  const suffix = randomBytes(3).toString('hex');
  const auth = {} as Record<Name, AuthResult>;
  for (const name of USERS) {
    const res = await api<AuthResult>(url, 'POST', '/api/auth/register', {
      body: { username: `${name}.${suffix}`, password: PASSWORD, display_name: `${name} (${TODAYS_MAIN})` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    auth[name] = res.body;
  }
  const token = (name: Name) => auth[name].tokens.access;

  const conversations = {} as Record<Pair, OldConversation>;
  for (const [pair, [creator, other]] of Object.entries(PAIRS) as Array<[Pair, readonly [Name, Name]]>) {
    const res = await api<OldConversation>(url, 'POST', '/api/chats/conversations', {
      token: token(creator),
      body: { receiver_id: auth[other].user.id },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    conversations[pair] = res.body;
  }

  const sockets = {} as Record<Name, ChatClient>;
  try {
    for (const name of USERS) sockets[name] = await connect(url, { token: token(name) });
    for (const [pair, [a, b]] of Object.entries(PAIRS) as Array<[Pair, readonly [Name, Name]]>) {
      for (const name of [a, b]) {
        const ack = await request<{ success: boolean }>(sockets[name], 'join-conversation', {
          conversationId: conversations[pair].id,
          userId: auth[name].user.id,
        });
        expect(ack, `${name} joins ${pair}`).toMatchObject({ success: true });
      }
    }

    for (const step of SCRIPT) {
      const id = conversations[step.in].id;
      const what = JSON.stringify(step);
      if ('send' in step) {
        const body = {
          message_type: step.image ? 'image' : 'text',
          content: step.send,
          ...(step.cmid ? { client_message_id: step.cmid } : {}),
        };
        if (step.via === 'rest') {
          const res = await api(url, 'POST', `/api/chats/conversations/${id}/messages`, {
            token: token(step.by),
            body,
          });
          expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(201);
        } else {
          const ack = await request(sockets[step.by], 'send-message', {
            ...body,
            sender_id: auth[step.by].user.id,
            conversation_id: id,
          });
          expect(ack, what).toMatchObject({ success: true, message: { content: step.send } });
        }
      } else {
        const seq = step.readTo === 'latest' ? {} : { seq: step.readTo };
        if (step.via === 'rest') {
          const res = await api(url, 'POST', `/api/chats/conversations/${id}/read`, {
            token: token(step.by),
            body: seq,
          });
          expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(200);
        } else {
          const ack = await request(sockets[step.by], 'mark-read', { conversationId: id, ...seq });
          expect(ack, what).toMatchObject({ success: true });
        }
      }
    }

    // Recorded only once everything is stored: every answer below is the final state.
    const readMarks = {} as Snapshot['readMarks'];
    for (const [pair, [a, b]] of Object.entries(PAIRS) as Array<[Pair, readonly [Name, Name]]>) {
      readMarks[pair] = {};
      for (const name of [a, b]) {
        const ack = await request<{ success: boolean; last_read_seq: number }>(
          sockets[name],
          'join-conversation',
          { conversationId: conversations[pair].id, userId: auth[name].user.id },
        );
        expect(ack.success).toBe(true);
        readMarks[pair][name] = ack.last_read_seq;
      }
    }

    const users = {} as Record<Name, OldUser>;
    const lists = {} as Record<Name, OldConversation[]>;
    for (const name of USERS) {
      const user = await api<OldUser>(url, 'GET', `/api/users/${auth[name].user.id}`, {
        token: token('alice'),
      });
      expect(user.status).toBe(200);
      users[name] = user.body;
      const list = await api<{ conversations: OldConversation[]; next_cursor: string | null }>(
        url,
        'GET',
        '/api/chats/conversations?limit=100',
        { token: token(name) },
      );
      expect(list.status).toBe(200);
      expect(list.body.next_cursor).toBeNull();
      lists[name] = list.body.conversations;
    }
    const histories = {} as Record<Pair, OldMessage[]>;
    for (const [pair, [creator]] of Object.entries(PAIRS) as Array<[Pair, readonly [Name, Name]]>) {
      const page = await api<{ messages: OldMessage[]; has_more: boolean }>(
        url,
        'GET',
        `/api/chats/conversations/${conversations[pair].id}/messages?after_seq=0&limit=100`,
        { token: token(creator) },
      );
      expect(page.status).toBe(200);
      expect(page.body.has_more).toBe(false);
      histories[pair] = page.body.messages;
    }
    const refresh = Object.fromEntries(USERS.map((n) => [n, auth[n].tokens.refresh])) as Record<Name, string>;
    return { users, refresh, conversations, lists, histories, readMarks };
  } finally {
    for (const socket of Object.values(sockets)) socket.close();
  }
}

const pairs = Object.keys(PAIRS) as Pair[];
const membersOf = (pair: Pair): readonly Name[] => PAIRS[pair];

describe(`a database filled by ${TODAYS_MAIN} (today's main)`, () => {
  it('holds what the script stored, as the old API reports it', () => {
    const { users, conversations, lists, histories, readMarks } = snapshot;
    const messagesIn = (pair: Pair) => SCRIPT.filter((s) => 'send' in s && s.in === pair);
    for (const pair of pairs) {
      expect(histories[pair].map((m) => m.seq)).toEqual(messagesIn(pair).map((_, i) => i + 1));
      expect(histories[pair].map((m) => m.content)).toEqual(
        messagesIn(pair).map((s) => 'send' in s && s.send),
      );
    }
    expect(histories.ab[2]).toMatchObject({ message_type: 'image', client_message_id: 'alice-2' });
    expect(histories.ab[3]).toMatchObject({ message_type: 'text', client_message_id: null });
    expect(histories.ca[3]).toMatchObject({ message_type: 'text', client_message_id: 'carol-1' });
    expect(histories.da).toEqual([]);
    expect(readMarks).toEqual({
      ab: { alice: 5, bob: 3 },
      bc: { bob: 3, carol: 2 },
      ca: { carol: 4, alice: 3 },
      da: { dave: 0, alice: 0 },
      db: { dave: 0, bob: 1 },
    });
    // Most recent activity first.
    const ids = (...p: Pair[]) => p.map((k) => conversations[k].id);
    expect(lists.alice.map((c) => c.id)).toEqual(ids('ca', 'ab', 'da'));
    expect(lists.bob.map((c) => c.id)).toEqual(ids('db', 'bc', 'ab'));
    expect(lists.carol.map((c) => c.id)).toEqual(ids('ca', 'bc'));
    expect(lists.dave.map((c) => c.id)).toEqual(ids('db', 'da'));
    const unread = (name: Name) => lists[name].map((c) => c.unread_count);
    expect(unread('alice')).toEqual([1, 0, 0]);
    expect(unread('bob')).toEqual([0, 0, 2]);
    expect(unread('carol')).toEqual([0, 1]);
    expect(unread('dave')).toEqual([1, 0]);
    expect(Object.values(users).map((u) => u.username)).toEqual(
      USERS.map((n) => expect.stringMatching(`^${n}\\.`)),
    );
  });

  describe('after the upgrade to this build', () => {
    let cluster: Cluster | undefined;
    let url: string;
    const logins = {} as Record<Name, ApiResponse<AuthResult>>;
    /** An access token of this build, from the password the user registered with on the old one. */
    const token = (name: Name): string => {
      const login = logins[name];
      if (login?.status !== 200) throw new Error(`${name} could not log in: ${JSON.stringify(login?.body)}`);
      return login.body.tokens.access;
    };

    beforeAll(async () => {
      // This build's `migrate` runs on the old database first, as a deploy runs it.
      cluster = await Cluster.start({ database: db });
      url = cluster.gatewayUrl();
      for (const name of USERS) {
        logins[name] = await api<AuthResult>(url, 'POST', '/api/auth/login', {
          body: { username: snapshot.users[name].username, password: PASSWORD },
        });
      }
    }, 180_000);
    afterAll(async () => {
      await cluster?.stop();
    });

    it('lets every user log in with the password of the old build, as the same user', async () => {
      for (const name of USERS) {
        const login = logins[name];
        expect(login.status, `${name}: ${JSON.stringify(login.body)}`).toBe(200);
        expect(login.body.user).toMatchObject(snapshot.users[name]);
        const profile = await api(url, 'GET', `/api/users/${snapshot.users[name].id}`, {
          token: token(name),
        });
        expect(profile.body).toMatchObject(snapshot.users[name]);
      }
    });

    it("keeps the old build's sessions: their refresh tokens still refresh", async () => {
      for (const name of USERS) {
        const res = await api(url, 'POST', '/api/auth/refresh', {
          body: { refresh: snapshot.refresh[name] },
        });
        expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(200);
      }
    });

    it('lists the same conversations in the same order, with the same fields, seqs, last messages and unread counts', async () => {
      for (const name of USERS) {
        const res = await api<ConversationPage>(url, 'GET', '/api/chats/conversations?limit=100', {
          token: token(name),
        });
        expect(res.status).toBe(200);
        expect(res.body.next_cursor).toBeNull();
        expect(
          res.body.conversations.map((c) => c.id),
          name,
        ).toEqual(snapshot.lists[name].map((c) => c.id));
        // toMatchObject: every old field with its old value; the new fields are checked below.
        expect(res.body.conversations, name).toMatchObject(snapshot.lists[name]);
      }
    });

    it("gives every old conversation the new fields of a direct one: both users are 'member', nothing muted", async () => {
      // A 1:1 conversation has no owner: its creator (the old sender_id) is a 'member' like the other user.
      for (const name of USERS) {
        const res = await api<ConversationPage>(url, 'GET', '/api/chats/conversations?limit=100', {
          token: token(name),
        });
        for (const conversation of res.body.conversations) {
          const expected = {
            type: 'direct',
            title: null,
            member_count: 2,
            metadata: {},
            my_role: 'member',
            muted: false,
            muted_until: null,
          };
          expect(
            pick(conversation, Object.keys(expected)),
            `${name}, conversation ${conversation.id}`,
          ).toEqual(expected);
          const one = await api<Conversation>(url, 'GET', `/api/chats/conversations/${conversation.id}`, {
            token: token(name),
          });
          expect(one.body).toEqual(conversation);
        }
      }
    });

    it('keeps every message: ids, seqs, senders, types, contents, client_message_ids and timestamps', async () => {
      for (const pair of pairs) {
        for (const name of membersOf(pair)) {
          const res = await api<{ messages: unknown[]; has_more: boolean }>(
            url,
            'GET',
            `/api/chats/conversations/${snapshot.conversations[pair].id}/messages?after_seq=0&limit=100`,
            { token: token(name) },
          );
          expect(res.status).toBe(200);
          expect(res.body.has_more).toBe(false);
          expect(res.body.messages, `${pair} as ${name}`).toMatchObject(snapshot.histories[pair]);
        }
      }
    });

    it('lists both users of each old conversation as members, with their read marks as last_read_seq', async () => {
      for (const pair of pairs) {
        const id = snapshot.conversations[pair].id;
        for (const viewer of membersOf(pair)) {
          const res = await api<MemberPage>(url, 'GET', `/api/chats/conversations/${id}/members`, {
            token: token(viewer),
          });
          expect(res.status, `${pair} as ${viewer}: ${JSON.stringify(res.body)}`).toBe(200);
          expect(res.body.next_cursor).toBeNull();
          const byUser = (a: { user: { id: number } }, b: { user: { id: number } }) => a.user.id - b.user.id;
          const expected = membersOf(pair)
            .map((name) => ({
              user: snapshot.users[name],
              role: 'member',
              joined_at: expect.any(String),
              last_read_seq: snapshot.readMarks[pair][name],
            }))
            .sort(byUser);
          expect([...res.body.members].sort(byUser), `${pair} as ${viewer}`).toMatchObject(expected);
        }
      }
    });

    it('answers join-conversation with the same last_seq and read mark (last_read_seq)', async () => {
      for (const name of USERS) {
        const socket = await connect(url, { token: token(name) });
        try {
          for (const pair of pairs.filter((p) => membersOf(p).includes(name))) {
            const ack = await request(socket, 'join-conversation', {
              conversationId: snapshot.conversations[pair].id,
              userId: snapshot.users[name].id,
            });
            expect(ack, `${name} joins ${pair}`).toMatchObject({
              success: true,
              conversationId: snapshot.conversations[pair].id,
              last_seq: lastSeq(pair),
              last_read_seq: snapshot.readMarks[pair][name],
            });
          }
        } finally {
          socket.close();
        }
      }
    });

    it('sums the old unread counts in GET /api/chats/unread', async () => {
      for (const name of USERS) {
        const unread = await api<UnreadSummary>(url, 'GET', '/api/chats/unread', { token: token(name) });
        const counts = snapshot.lists[name].map((c) => c.unread_count);
        expect(unread.body, name).toEqual({
          total_unread: counts.reduce((a, b) => a + b, 0),
          unread_conversations: counts.filter((n) => n > 0).length,
        });
      }
    });

    // The tests below change the data: they come last.

    it('returns the old conversation (200, same id and participants) when either user POSTs the pair again', async () => {
      for (const pair of pairs) {
        const recorded = snapshot.conversations[pair];
        for (const [name, other] of [PAIRS[pair], [...PAIRS[pair]].reverse()] as Array<[Name, Name]>) {
          const res = await api<Conversation>(url, 'POST', '/api/chats/conversations', {
            token: token(name),
            body: { receiver_id: snapshot.users[other].id },
          });
          expect(res.status, `${name} → ${other}: ${JSON.stringify(res.body)}`).toBe(200);
          expect(res.body).toMatchObject({
            id: recorded.id,
            sender_id: recorded.sender_id,
            receiver_id: recorded.receiver_id,
            created_at: recorded.created_at,
          });
          expect(res.body).toMatchObject({ type: 'direct', member_count: 2, my_role: 'member' });
        }
      }
    });

    it('takes a new message in an old conversation at last_seq + 1 (REST)', async () => {
      const ab = snapshot.conversations.ab;
      const res = await api(url, 'POST', `/api/chats/conversations/${ab.id}/messages`, {
        token: token('bob'),
        body: { message_type: 'text', content: 'after the upgrade', client_message_id: 'bob-after-upgrade' },
      });
      expect(res.status, `${JSON.stringify(res.body)}\n${cluster!.logs()}`).toBe(201);
      expect(res.body).toMatchObject({
        seq: lastSeq('ab') + 1,
        conversation_id: ab.id,
        sender_id: ab.receiver_id,
      });
    });

    it('still answers a client_message_id the old build stored with the stored message (a retry)', async () => {
      const ab = snapshot.conversations.ab;
      const res = await api(url, 'POST', `/api/chats/conversations/${ab.id}/messages`, {
        token: token('alice'),
        body: { message_type: 'text', content: 'hi bob', client_message_id: 'alice-1' },
      });
      expect(res.status, `${JSON.stringify(res.body)}\n${cluster!.logs()}`).toBe(200);
      expect(res.body).toMatchObject(snapshot.histories.ab[0]!);
    });

    it('starts the old conversation that never had a message at seq 1 (Socket.IO)', async () => {
      const da = snapshot.conversations.da;
      const socket = await connect(url, { token: token('alice') });
      try {
        const ack = await request(socket, 'send-message', {
          sender_id: snapshot.users.alice.id,
          conversation_id: da.id,
          message_type: 'text',
          content: 'first words, after the upgrade',
        });
        expect(ack, cluster!.logs()).toMatchObject({
          success: true,
          message: { seq: 1, conversation_id: da.id },
        });
      } finally {
        socket.close();
      }
      const dave = await api<ConversationPage>(url, 'GET', '/api/chats/conversations?limit=100', {
        token: token('dave'),
      });
      expect(dave.body.conversations[0]).toMatchObject({ id: da.id, last_seq: 1, unread_count: 1 });
    });
  });
});

function lastSeq(pair: Pair): number {
  return snapshot.histories[pair].length;
}

function pick(object: object, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, (object as Record<string, unknown>)[k]]));
}
