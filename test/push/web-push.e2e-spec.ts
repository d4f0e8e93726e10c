import type { AuthResult, Conversation, Message, PushMessagePayload } from '@parley/contracts';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connect,
  conversationBetween,
  PushServiceStandIn,
  registerUser,
  sleep,
  waitFor,
  type BrowserSubscription,
  type ChatClient,
} from '@parley/testing';

// Web Push end to end: the chats service POSTs to a push-service stand-in that checks the VAPID JWT and decrypts the
// RFC 8291 payload with keys the test made as a browser does.
const vapid = webpush.generateVAPIDKeys();
const COLLAPSE_MS = 1500;
let cluster: Cluster;
let gw: string;
let push: PushServiceStandIn;
const sockets: ChatClient[] = [];

const UNLIMITED = '100000';
beforeAll(async () => {
  push = await PushServiceStandIn.start(vapid.publicKey);
  cluster = await Cluster.start({
    env: { PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true' },
    gatewayEnv: {
      VAPID_PUBLIC_KEY: vapid.publicKey,
      RATE_LIMIT_SETTINGS_PER_SECOND: UNLIMITED,
      RATE_LIMIT_SETTINGS_BURST: UNLIMITED,
      RATE_LIMIT_MESSAGES_PER_SECOND: UNLIMITED,
      RATE_LIMIT_MESSAGES_BURST: UNLIMITED,
      RATE_LIMIT_CONVERSATIONS_PER_MINUTE: UNLIMITED,
    },
    chatsEnv: {
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:ops@parley.test',
      PUSH_COLLAPSE_MS: String(COLLAPSE_MS),
      PUSH_MAX_SUBSCRIPTIONS_PER_USER: '3',
      PUSH_PAYLOAD_MAX_BYTES: '512',
    },
  });
  gw = cluster.gatewayUrl(0);
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
  await push?.close();
});

async function subscribe(user: AuthResult, sub = push.subscribe()) {
  const res = await api(gw, 'POST', '/api/push/subscriptions', { token: user.tokens.access, body: sub });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return sub;
}

async function send(from: AuthResult, conversationId: number, content: string): Promise<Message> {
  const res = await api<Message>(gw, 'POST', `/api/chats/conversations/${conversationId}/messages`, {
    token: from.tokens.access,
    body: { message_type: 'text', content },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function group(owner: AuthResult, members: AuthResult[]): Promise<Conversation> {
  const res = await api<Conversation>(gw, 'POST', '/api/chats/conversations', {
    token: owner.tokens.access,
    body: { type: 'group', title: 'Crew', member_ids: members.map((m) => m.user.id) },
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function subscriptionsOf(user: AuthResult): Promise<string[]> {
  const rows = await cluster.db.sql<{ endpoint: string }>(
    'SELECT endpoint FROM push_subscriptions WHERE user_id = $1 ORDER BY id',
    [user.user.id],
  );
  return rows.map((r) => r.endpoint);
}

describe('Web Push', () => {
  it('an offline member of a direct conversation gets exactly one notification, verified and decrypted', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw, 'alice'), registerUser(gw, 'bob')]);
    const device = await subscribe(bob);
    const conversation = await conversationBetween(gw, alice, bob);
    const message = await send(alice, conversation.id, 'Hello Bob, are you there?');

    const [received] = await push.waitFor(device.device);
    expect(received!.payload).toEqual({
      type: 'message.new',
      conversation_id: conversation.id,
      message_id: message.id,
      seq: message.seq,
      sender: { id: alice.user.id, username: alice.user.username },
      title: alice.user.display_name,
      body: 'Hello Bob, are you there?',
    } satisfies PushMessagePayload);
    expect(received!.headers.topic).toBe(`conversation-${conversation.id}`);
    expect(received!.headers.urgency).toBe('high');
    await sleep(300);
    expect(push.for(device.device)).toHaveLength(1);
    expect(push.problems).toEqual([]);
  });

  it('no notification for an online, a muted or a blocking member (while an offline one gets it)', async () => {
    const [sender, offline, online, muted, blocking] = (await Promise.all(
      ['snd', 'off', 'on', 'mute', 'blk'].map((p) => registerUser(gw, p)),
    )) as [AuthResult, AuthResult, AuthResult, AuthResult, AuthResult];
    const devices = {
      offline: await subscribe(offline),
      online: await subscribe(online),
      muted: await subscribe(muted),
      blocking: await subscribe(blocking),
    };
    const conversation = await group(sender, [offline, online, muted, blocking]);
    sockets.push(await connect(gw, { token: online.tokens.access }));
    const mute = await api(gw, 'PUT', `/api/chats/conversations/${conversation.id}/mute`, {
      token: muted.tokens.access,
      body: {},
    });
    expect(mute.status).toBe(200);
    const block = await api(gw, 'PUT', `/api/users/${sender.user.id}/block`, {
      token: blocking.tokens.access,
    });
    expect(block.status).toBe(204);

    await send(sender, conversation.id, 'x'.repeat(2000));
    const [received] = await push.waitFor(devices.offline.device);
    const payload = received!.payload as PushMessagePayload;
    expect(payload.title).toBe(`${sender.user.display_name} in Crew`);
    // Cut to fit PUSH_PAYLOAD_MAX_BYTES (512), with an ellipsis.
    expect(Buffer.byteLength(JSON.stringify(payload))).toBeLessThanOrEqual(512);
    expect(payload.body.endsWith('…')).toBe(true);
    expect(payload.body.length).toBeGreaterThan(100);
    // The others were decided in the same pass as the offline member: give any stray POST time to arrive.
    await sleep(500);
    expect(push.for(devices.online.device)).toEqual([]);
    expect(push.for(devices.muted.device)).toEqual([]);
    expect(push.for(devices.blocking.device)).toEqual([]);
    expect(push.problems).toEqual([]);
  });

  it('collapses a burst into one notification per conversation window', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw, 'alice'), registerUser(gw, 'bob')]);
    const device = await subscribe(bob);
    const conversation = await conversationBetween(gw, alice, bob);
    for (let i = 0; i < 5; i++) await send(alice, conversation.id, `burst ${i}`);
    await push.waitFor(device.device);
    await sleep(500);
    expect(push.for(device.device)).toHaveLength(1);
    expect((push.for(device.device)[0]!.payload as PushMessagePayload).body).toBe('burst 0');

    await sleep(COLLAPSE_MS);
    await send(alice, conversation.id, 'after the window');
    const all = await push.waitFor(device.device, 2);
    expect((all[1]!.payload as PushMessagePayload).body).toBe('after the window');
  });

  it('a 410 from the push service removes the subscription; later messages do not POST to it', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw, 'alice'), registerUser(gw, 'bob')]);
    const gone = await subscribe(bob);
    const kept = await subscribe(bob);
    push.answer(gone.device, 410);
    const conversation = await conversationBetween(gw, alice, bob);
    await send(alice, conversation.id, 'first');
    await Promise.all([push.waitFor(gone.device), push.waitFor(kept.device)]);
    await waitFor('the expired subscription removed', async () =>
      (await subscriptionsOf(bob)).length === 1 ? true : undefined,
    );
    expect(await subscriptionsOf(bob)).toEqual([kept.endpoint]);

    await sleep(COLLAPSE_MS + 100);
    await send(alice, conversation.id, 'second');
    await push.waitFor(kept.device, 2);
    await sleep(300);
    expect(push.for(gone.device)).toHaveLength(1);
  });

  it('registers, takes over and removes subscriptions', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw, 'alice'), registerUser(gw, 'bob')]);
    const device = await subscribe(alice);
    // The same device under another account: it moves.
    const again = await api(gw, 'POST', '/api/push/subscriptions', {
      token: bob.tokens.access,
      body: device,
    });
    expect(again.status).toBe(201);
    expect(again.body.replaced).toBe(true);
    expect(await subscriptionsOf(alice)).toEqual([]);
    expect(await subscriptionsOf(bob)).toEqual([device.endpoint]);
    // Someone else's endpoint is not removed by alice.
    const foreign = await api(gw, 'DELETE', '/api/push/subscriptions', {
      token: alice.tokens.access,
      body: { endpoint: device.endpoint },
    });
    expect(foreign.status).toBe(204);
    expect(await subscriptionsOf(bob)).toEqual([device.endpoint]);
    const removed = await api(gw, 'DELETE', '/api/push/subscriptions', {
      token: bob.tokens.access,
      body: { endpoint: device.endpoint },
    });
    expect(removed.status).toBe(204);
    expect(await subscriptionsOf(bob)).toEqual([]);
    // Or by query string.
    const second = await subscribe(bob);
    const byQuery = await api(
      gw,
      'DELETE',
      `/api/push/subscriptions?endpoint=${encodeURIComponent(second.endpoint)}`,
      { token: bob.tokens.access },
    );
    expect(byQuery.status).toBe(204);
    expect(await subscriptionsOf(bob)).toEqual([]);

    const key = await api(gw, 'GET', '/api/push/public-key', { token: bob.tokens.access });
    expect(key).toEqual({ status: 200, body: { public_key: vapid.publicKey } });
    const unauthenticated = await api(gw, 'POST', '/api/push/subscriptions', { body: push.subscribe() });
    expect(unauthenticated.status).toBe(401);
  });

  it('refuses bad registrations with clear 400s', async () => {
    const user = await registerUser(gw, 'bad');
    const good: BrowserSubscription = push.subscribe();
    const post = (body: unknown) =>
      api(gw, 'POST', '/api/push/subscriptions', { token: user.tokens.access, body });

    const badPoint = Buffer.alloc(65, 1);
    badPoint[0] = 4;
    for (const [body, message] of [
      [
        { ...good, keys: { ...good.keys, p256dh: 'AAAA' } },
        'keys.p256dh must be a base64url-encoded uncompressed P-256 public key (65 bytes)',
      ],
      [
        { ...good, keys: { ...good.keys, p256dh: badPoint.toString('base64url') } },
        'keys.p256dh must be a base64url-encoded uncompressed P-256 public key (65 bytes)',
      ],
      [
        { ...good, keys: { ...good.keys, auth: 'c2hvcnQ' } },
        'keys.auth must be a base64url-encoded 16-byte secret',
      ],
      [{ endpoint: good.endpoint }, 'keys should not be null or undefined'],
      [{ ...good, endpoint: `ftp://push.example.com/x` }, 'endpoint must be an https URL'],
      [
        { ...good, endpoint: `https://${'a'.repeat(2100)}.example.com/` },
        'endpoint must be shorter than or equal to 2048 characters',
      ],
    ] as const) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 200)).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain(message);
    }

    for (let i = 0; i < 3; i++) expect((await post(push.subscribe())).status).toBe(201);
    const tooMany = await post(push.subscribe());
    expect(tooMany).toMatchObject({ status: 400, body: { message: 'Too many push subscriptions' } });
  });

  it('without PUSH_ALLOW_PRIVATE_ENDPOINTS: https to public hosts only', async () => {
    const strict = await cluster.startGateway({ PUSH_ALLOW_PRIVATE_ENDPOINTS: 'false' });
    const user = await registerUser(strict.url, 'strict');
    const keys = push.subscribe().keys;
    const post = (endpoint: string) =>
      api(strict.url, 'POST', '/api/push/subscriptions', {
        token: user.tokens.access,
        body: { endpoint, keys },
      });
    for (const [endpoint, message] of [
      ['http://push.example.com/x', 'endpoint must be an https URL'],
      ['https://127.0.0.1/x', 'endpoint must not point to a private or loopback address'],
      ['https://[::1]:8443/x', 'endpoint must not point to a private or loopback address'],
      ['https://169.254.169.254/latest', 'endpoint must not point to a private or loopback address'],
      ['https://10.1.2.3/x', 'endpoint must not point to a private or loopback address'],
      ['https://[::ffff:192.168.0.1]/x', 'endpoint must not point to a private or loopback address'],
      ['https://localhost/x', 'endpoint must not point to a private or loopback address'],
      ['https://user:pw@push.example.com/x', 'endpoint must not contain credentials'],
    ]) {
      expect(await post(endpoint!), endpoint).toMatchObject({ status: 400, body: { message } });
    }
    expect((await post('https://fcm.googleapis.com/fcm/send/abc')).status).toBe(201);
  });

  it('with push off there is no public key, and registrations are 404', async () => {
    const off = await cluster.startGateway({ VAPID_PUBLIC_KEY: '' });
    const user = await registerUser(off.url, 'off');
    const res = await api(off.url, 'GET', '/api/push/public-key', { token: user.tokens.access });
    expect(res).toEqual({ status: 200, body: { public_key: null } });
    const register = await api(off.url, 'POST', '/api/push/subscriptions', {
      token: user.tokens.access,
      body: push.subscribe(),
    });
    expect(register).toMatchObject({ status: 404, body: { message: 'Push notifications are not enabled' } });
  });
});
