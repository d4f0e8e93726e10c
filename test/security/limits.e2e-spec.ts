import type { AuthResult, Conversation, Message } from '@parley/contracts';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connect,
  registerUser,
  request,
  sleep,
  waitFor,
  type AppProcess,
  type ChatClient,
  conversationBetween,
} from '@parley/testing';

// Finding: "Costly events are free" (300 join-conversations at once were all served; mark-read, leave,
// conversation creation and history had no limit; the RPC client queued without bound). Every costly path has a
// per-user limit shared by REST, Socket.IO and every gateway; a socket's events in flight, a gateway's RPCs in
// flight, a user's sockets and an address's connections are capped and refused at once; only /chat is served.

const LIMIT = { perSecond: 2, burst: 5 };
let cluster: Cluster;
let gw: [string, string];
const sockets: ChatClient[] = [];

beforeAll(async () => {
  const perUser = (name: string) => ({
    [`RATE_LIMIT_${name}_PER_SECOND`]: String(LIMIT.perSecond),
    [`RATE_LIMIT_${name}_BURST`]: String(LIMIT.burst),
  });
  cluster = await Cluster.start({
    gateways: 2,
    chats: 1,
    gatewayEnv: {
      ...perUser('JOINS'),
      ...perUser('LEAVES'),
      ...perUser('READ_MARKS'),
      ...perUser('TYPING'),
      ...perUser('HISTORY'),
      ...perUser('LOOKUPS'),
      ...perUser('AUTHENTICATE'),
      RATE_LIMIT_CONVERSATIONS_PER_MINUTE: '3',
      SOCKET_MAX_IN_FLIGHT: '4',
      SOCKET_MAX_PER_USER: '3',
      RPC_TIMEOUT_MS: '4000',
    },
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
});
afterAll(async () => {
  for (const s of sockets) s.close();
  for (const c of cluster?.chats ?? []) c.proc.kill('SIGCONT');
  await cluster?.stop();
});

async function pair(prefix: string): Promise<{ a: AuthResult; b: AuthResult; conversation: Conversation }> {
  const [a, b] = await Promise.all([registerUser(gw[0], `${prefix}A`), registerUser(gw[1], `${prefix}B`)]);
  const conversation = await conversationBetween(gw[0], a, b);
  return { a, b, conversation };
}

async function socketOf(user: AuthResult, url: string): Promise<ChatClient> {
  const s = await connect(url, { token: user.tokens.access });
  sockets.push(s);
  return s;
}

/** 'ok', or the refusal's error string. */
type Outcome = string;

/** Runs the attempts at once; checks the per-user budget held across them, and that refusals said so. */
async function expectBudget(attempts: Array<() => Promise<Outcome>>, limit = LIMIT): Promise<void> {
  const started = Date.now();
  const outcomes = await Promise.all(attempts.map((a) => a()));
  const seconds = Math.ceil((Date.now() - started) / 1000);
  const accepted = outcomes.filter((o) => o === 'ok').length;
  expect(accepted).toBeGreaterThanOrEqual(limit.burst);
  // A one-second window of perSecond, plus the burst pool above it (refilled only every 10 s).
  expect(accepted).toBeLessThanOrEqual(limit.burst + limit.perSecond * seconds);
  expect(new Set(outcomes.filter((o) => o !== 'ok'))).toEqual(new Set(['Rate limit exceeded']));
}

const ack = (s: ChatClient, event: string, payload: object) => async (): Promise<Outcome> => {
  const res = await request<{ success: boolean; error?: string }>(s, event, payload);
  return res.success ? 'ok' : res.error!;
};
const rest =
  (url: string, method: string, path: string, token: string, body?: object) => async (): Promise<Outcome> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as { message?: string };
    if (res.status < 300) return 'ok';
    expect({ method, path, status: res.status, body: json }).toMatchObject({ method, path, status: 429 });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    return json.message!;
  };

describe('per-user rate limits on every costly path', () => {
  it('300 join-conversation at once from one socket: a few served, the rest refused at once, and only a few RPCs made', async () => {
    const { a, conversation } = await pair('j300');
    const s = await socketOf(a, gw[0]);
    const rpcsBefore = await cluster.chats[0]!.metric('parley_rpc_handled_total', {
      pattern: 'conversations.membership',
    });
    const acks = await Promise.all(
      Array.from({ length: 300 }, () =>
        request<{ success: boolean; error?: string }>(s, 'join-conversation', {
          conversationId: conversation.id,
          userId: a.user.id,
        }),
      ),
    );
    const served = acks.filter((x) => x.success).length;
    expect(served).toBeGreaterThanOrEqual(1);
    expect(served).toBeLessThanOrEqual(LIMIT.burst + LIMIT.perSecond * 2);
    // Refused by the socket's cap on events in flight, or by the user's join budget: nothing queued.
    const refusals = new Set(acks.filter((x) => !x.success).map((x) => x.error));
    expect([...refusals].every((e) => e === 'Rate limit exceeded' || e === 'Service busy, retry later')).toBe(
      true,
    );
    const rpcs =
      (await cluster.chats[0]!.metric('parley_rpc_handled_total', { pattern: 'conversations.membership' })) -
      rpcsBefore;
    expect(rpcs).toBe(served);
    expect(s.connected).toBe(true);
  });

  it('mark-read: one budget over Socket.IO and REST on both gateways', async () => {
    const { a, conversation } = await pair('mr');
    const [s0, s1] = await Promise.all([socketOf(a, gw[0]), socketOf(a, gw[1])]);
    await expectBudget(
      Array.from({ length: 16 }, (_, i) =>
        i % 4 === 0
          ? ack(s0, 'mark-read', { conversationId: conversation.id })
          : i % 4 === 1
            ? ack(s1, 'mark-read', { conversationId: conversation.id })
            : rest(
                gw[i % 2]!,
                'POST',
                `/api/chats/conversations/${conversation.id}/read`,
                a.tokens.access,
                {},
              ),
      ),
    );
  });

  it('join-conversation, leave-conversation, typing and authenticate each have a budget of their own', async () => {
    const { a, conversation } = await pair('ev');
    const [s0, s1] = await Promise.all([socketOf(a, gw[0]), socketOf(a, gw[1])]);
    const both = (event: string, payload: object) =>
      Array.from({ length: 4 }, (_, i) => ack(i % 2 ? s1 : s0, event, payload));
    // Fewer at once than SOCKET_MAX_IN_FLIGHT per socket, so that only the rate limits speak.
    for (const [event, payload] of [
      ['join-conversation', { conversationId: conversation.id, userId: a.user.id }],
      ['leave-conversation', { conversationId: conversation.id }],
      ['typing', { conversationId: conversation.id, userId: a.user.id, isTyping: true }],
      ['authenticate', { token: a.tokens.access }],
    ] as const) {
      const first = await Promise.all(both(event, payload).map((f) => f()));
      const second = await Promise.all(both(event, payload).map((f) => f()));
      const outcomes = [...first, ...second];
      const accepted = outcomes.filter((o) => o === 'ok').length;
      expect({
        event,
        accepted: accepted >= LIMIT.burst && accepted <= LIMIT.burst + 2 * LIMIT.perSecond,
      }).toEqual({
        event,
        accepted: true,
      });
      expect(new Set(outcomes.filter((o) => o !== 'ok'))).toEqual(new Set(['Rate limit exceeded']));
    }
  });

  it('history and conversation reads, and user lookups, over REST', async () => {
    const { a, b, conversation } = await pair('hist');
    const t = a.tokens.access;
    await expectBudget(
      Array.from({ length: 15 }, (_, i) =>
        rest(
          gw[i % 2]!,
          'GET',
          [
            `/api/chats/conversations/${conversation.id}/messages`,
            `/api/chats/conversations/${conversation.id}`,
            '/api/chats/conversations',
          ][i % 3]!,
          t,
        ),
      ),
    );
    await expectBudget(
      Array.from({ length: 15 }, (_, i) =>
        rest(
          gw[i % 2]!,
          'GET',
          ['/api/users/me', `/api/users/${b.user.id}`, `/api/users?username=${b.user.username}`][i % 3]!,
          t,
        ),
      ),
    );
  });

  describe('edits, deletions and reactions (MESSAGE_CHANGES): one budget over Socket.IO and REST on every gateway', () => {
    /**
     * `n` changes of one user at once: edit-message, react and delete-message over each socket (at most 3 per
     * socket, under SOCKET_MAX_IN_FLIGHT), and PATCH, PUT and DELETE of a reaction and DELETE of a message over
     * REST on each gateway. Each one admitted answers ok (a new content or emoji each time; a repeated deletion, or
     * removing a reaction that is not there, changes nothing and still succeeds), each one refused must say Rate
     * limit exceeded (429 with Retry-After over REST). No two of them add or remove the same reaction (see
     * rpc-boundary for that race), and no message gets more than 20 distinct emojis.
     */
    async function changes(prefix: string, urls: [string, string], n: number) {
      const a = await registerUser(urls[0], `${prefix}A`);
      const b = await registerUser(urls[1], `${prefix}B`);
      const conversation = await conversationBetween(urls[0], a, b);
      const messages = `/api/chats/conversations/${conversation.id}/messages`;
      const send = async (content: string) =>
        (
          await api<Message>(urls[0], 'POST', messages, {
            token: a.tokens.access,
            body: { message_type: 'text', content },
          })
        ).body;
      const edited = await send('to edit');
      const deleted = await send('to delete');
      const reacted = [await send('to react to'), await send('to react to, too'), await send('and this')];
      const sockets = await Promise.all([socketOf(a, urls[0]), socketOf(a, urls[1])]);
      const target = { conversationId: conversation.id };
      const reaction = (i: number, emoji: string) =>
        `${messages}/${reacted[i % 3]!.id}/reactions/${encodeURIComponent(emoji)}`;
      const attempts = Array.from({ length: n }, (_, i) => {
        if (i < 6) {
          const s = sockets[i % 2]!;
          return [
            ack(s, 'edit-message', { ...target, messageId: edited.id, content: `socket ${i}` }),
            ack(s, 'react', { ...target, messageId: reacted[i % 3]!.id, emoji: `s${i}`, add: true }),
            ack(s, 'delete-message', { ...target, messageId: deleted.id }),
          ][i % 3]!;
        }
        const url = urls[i % 2]!;
        const t = a.tokens.access;
        return [
          rest(url, 'PATCH', `${messages}/${edited.id}`, t, { content: `rest ${i}` }),
          rest(url, 'PUT', reaction(i, `r${i}`), t),
          rest(url, 'DELETE', reaction(i, `never ${i}`), t),
          rest(url, 'DELETE', `${messages}/${deleted.id}`, t),
        ][i % 4]!;
      });
      return { attempts, conversation, spent: { edited, messages, token: a.tokens.access } };
    }

    it('by default 10 a second with bursts of 40', async () => {
      const { attempts } = await changes('mcd', gw, 70);
      await expectBudget(attempts, { perSecond: 10, burst: 40 });
    });

    it('as configured (RATE_LIMIT_MESSAGE_CHANGES_PER_SECOND and _BURST), and what is refused changes nothing', async () => {
      const env = {
        RATE_LIMIT_MESSAGE_CHANGES_PER_SECOND: String(LIMIT.perSecond),
        RATE_LIMIT_MESSAGE_CHANGES_BURST: String(LIMIT.burst),
      };
      const configured = await Promise.all([cluster.startGateway(env), cluster.startGateway(env)]);
      try {
        const urls: [string, string] = [configured[0].url, configured[1].url];
        const { attempts, conversation, spent } = await changes('mcc', urls, 16);
        await expectBudget(attempts);
        // Refused changes change nothing: of 8 edits at once (each a new content), exactly those admitted took a
        // version, and the stored content is one of theirs.
        const version = async () =>
          (
            await cluster.db.sql<{ version: number }>('SELECT version FROM conversations WHERE id = $1', [
              conversation.id,
            ])
          )[0]!.version;
        const start = await version();
        const contentOf = async (id: number) =>
          (await cluster.db.sql<{ content: string }>('SELECT content FROM messages WHERE id = $1', [id]))[0]!
            .content;
        const { edited, token } = spent;
        const previous = await contentOf(edited.id);
        const contents = Array.from({ length: 8 }, (_, k) => `volley ${k}`);
        const outcomes = await Promise.all(
          contents.map((content, k) =>
            rest(urls[k % 2]!, 'PATCH', `${spent.messages}/${edited.id}`, token, { content })(),
          ),
        );
        const admitted = contents.filter((_, k) => outcomes[k] === 'ok');
        expect(outcomes.filter((o) => o !== 'ok').length).toBeGreaterThan(0);
        expect(await version()).toBe(start + admitted.length);
        const stored = await contentOf(edited.id);
        expect(admitted.length > 0 ? admitted : [previous]).toContain(stored);
      } finally {
        await Promise.all(configured.map((g) => g.stop()));
      }
    });
  });

  it('conversation creation: RATE_LIMIT_CONVERSATIONS_PER_MINUTE', async () => {
    const me = await registerUser(gw[0], 'cc');
    const others = await Promise.all(Array.from({ length: 5 }, (_, i) => registerUser(gw[1], `cc${i}`)));
    const outcomes: number[] = [];
    for (const other of others) {
      const res = await api(gw[outcomes.length % 2]!, 'POST', '/api/chats/conversations', {
        token: me.tokens.access,
        body: { receiver_id: other.user.id },
      });
      outcomes.push(res.status);
    }
    expect(outcomes).toEqual([201, 201, 201, 429, 429]);
    const [{ n }] = (await cluster.db.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM conversations WHERE sender_id = $1',
      [me.user.id],
    )) as [{ n: number }];
    expect(n).toBe(3);
  });
});

describe('connections', () => {
  it('serves only /chat: the default namespace and any other are refused', async () => {
    const user = await registerUser(gw[0], 'ns');
    for (const path of ['/', '/admin', '/chat2']) {
      const socket = io(`${gw[0]}${path}`, {
        auth: { token: user.tokens.access },
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      });
      const error = await new Promise<string>((resolve) => {
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (err) => resolve(err.message));
      });
      socket.close();
      expect({ path, error }).toEqual({ path, error: 'Invalid namespace' });
    }
  });

  it('refuses a bad token in the URL or header at the HTTP handshake, before a socket exists', async () => {
    const user = await registerUser(gw[1], 'hs');
    const handshake = (query: string, headers: Record<string, string> = {}) =>
      fetch(`${gw[1]}/socket.io/?EIO=4&transport=polling${query}`, { headers }).then(async (r) => ({
        status: r.status,
        body: await r.text(),
      }));
    expect(await handshake('&token=not-a-token')).toEqual({
      status: 403,
      body: JSON.stringify({ code: 4, message: 'Unauthorized' }),
    });
    expect((await handshake('', { authorization: 'Bearer not-a-token' })).status).toBe(403);
    expect((await handshake(`&token=${user.tokens.access}`)).status).toBe(200);
    expect((await handshake('')).status).toBe(200); // auth.token comes later, in the CONNECT packet
  });

  it('caps a user’s open sockets across gateways (SOCKET_MAX_PER_USER)', async () => {
    const user = await registerUser(gw[0], 'cap');
    const open = await Promise.all([socketOf(user, gw[0]), socketOf(user, gw[1]), socketOf(user, gw[0])]);
    await waitFor('every socket to be registered', async () => {
      const probe: ChatClient | string = await connect(gw[1], { token: user.tokens.access }).catch(
        (err: Error) => err.message,
      );
      if (typeof probe !== 'string') probe.close();
      return probe === 'Too many connections';
    });
    open[0].close();
    await waitFor('a slot to free up', async () => {
      const again = await connect(gw[1], { token: user.tokens.access }).catch(() => undefined);
      if (again) sockets.push(again);
      return again !== undefined;
    });
  });

  it('caps one client address’s connections on an instance (SOCKET_MAX_PER_ADDRESS)', async () => {
    const gateway: AppProcess = await cluster.startGateway({ SOCKET_MAX_PER_ADDRESS: '3' });
    const users = await Promise.all(Array.from({ length: 4 }, (_, i) => registerUser(gw[0], `addr${i}`)));
    const first = await Promise.all(users.slice(0, 3).map((u) => socketOf(u, gateway.url)));
    await expect(connect(gateway.url, { token: users[3]!.tokens.access })).rejects.toThrow();
    const raw = await fetch(`${gateway.url}/socket.io/?EIO=4&transport=polling`);
    expect({ status: raw.status, body: await raw.text() }).toEqual({
      status: 403,
      body: JSON.stringify({ code: 4, message: 'Too many connections' }),
    });
    first[0]!.close();
    await waitFor('the address to be under its cap again', async () => {
      const s = await connect(gateway.url, { token: users[3]!.tokens.access }).catch(() => undefined);
      if (s) sockets.push(s);
      return s !== undefined;
    });
    await gateway.stop();
  });
});

describe('admission control while the chats service is stalled', () => {
  it('caps a socket’s events in flight and a gateway’s RPCs in flight, answering Service busy at once', async () => {
    const capped = await cluster.startGateway({ RPC_MAX_IN_FLIGHT: '3', RPC_TIMEOUT_MS: '4000' });
    const { a, conversation } = await pair('adm');
    const s = await socketOf(a, gw[0]);
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => registerUser(gw[1], `adm${i}`)));
    const chats = cluster.chats[0]!;
    chats.proc.kill('SIGSTOP'); // requests now wait in the stream, unanswered
    try {
      // A socket: SOCKET_MAX_IN_FLIGHT (4) events are taken, the next are refused without waiting.
      const sends = Array.from({ length: 8 }, (_, i) =>
        request<{ success: boolean; error?: string }>(s, 'send-message', {
          sender_id: a.user.id,
          conversation_id: conversation.id,
          message_type: 'text',
          content: `adm ${i}`,
          client_message_id: `adm-${i}`,
        }),
      );
      const refusedAtOnce = await Promise.race([
        Promise.all(sends.slice(4)),
        sleep(2500).then(() => 'waited' as const),
      ]);
      expect(refusedAtOnce).toEqual(
        Array.from({ length: 4 }, () => ({ success: false, error: 'Service busy, retry later' })),
      );

      // A gateway: RPC_MAX_IN_FLIGHT (3) requests wait for the chats service, the next are refused without waiting.
      // Six HTTP requests on six connections reach the gateway in any order: whichever three arrive first are
      // admitted, so the test counts answers rather than picking which requests must be refused.
      type Lookup = { status: number; body: { message: string } };
      const answered: Lookup[] = [];
      const lookups = users.map((u) =>
        api<{ message: string }>(capped.url, 'GET', '/api/users/me', { token: u.tokens.access }).then((r) => {
          answered.push(r);
          return r;
        }),
      );
      await waitFor(
        'three lookups answered without waiting for the chats service',
        () => answered.length >= 3,
        2500,
      );
      expect(answered.map((r) => [r.status, r.body.message])).toEqual(
        Array.from({ length: 3 }, () => [503, 'Service busy, retry later']),
      );
      chats.proc.kill('SIGCONT');
      // What was admitted is served once the chats service is back (within its deadline).
      expect((await Promise.all(lookups)).map((r) => r.status).sort()).toEqual([
        200, 200, 200, 503, 503, 503,
      ]);
      expect((await Promise.all(sends.slice(0, 4))).every((r) => r.success)).toBe(true);
    } finally {
      chats.proc.kill('SIGCONT');
      await capped.stop();
    }
  });
});
