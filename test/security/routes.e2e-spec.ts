import { createECDH, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import webpush from 'web-push';
import { join } from 'node:path';
import type { AuthResult, Conversation, Message } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, conversationBetween, Cluster, REPO_ROOT, registerUser } from '@parley/testing';

// Finding: "Auth bypass by the path's spelling" (GET /API/users/1 answered 200 without a token: the guard compared
// req.path case-sensitively while Express routed case-insensitively). Every route of the committed OpenAPI file, and
// of the document the running gateway serves (so a route the committed file does not list yet is tried too), is
// tried in every spelling Express or a proxy might treat as the same path; none may answer 2xx without a token.

interface Route {
  method: string;
  path: string;
  public: boolean;
}

type OpenApi = { paths: Record<string, Record<string, { security?: unknown[] }>> };

function routesOf(openapi: OpenApi): Route[] {
  return Object.entries(openapi.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      public: !op.security || op.security.length === 0,
    })),
  );
}

/** The routes of both documents, each once (a route in either is tried; the served one decides if both list it). */
function union(committed: Route[], served: Route[]): Route[] {
  const key = (r: Route) => `${r.method} ${r.path}`;
  const byKey = new Map(committed.map((r) => [key(r), r]));
  for (const r of served) byKey.set(key(r), r);
  return [...byKey.values()];
}

const committedRoutes = routesOf(
  JSON.parse(readFileSync(join(REPO_ROOT, 'docs/openapi.json'), 'utf8')) as OpenApi,
);
let routes: Route[] = committedRoutes;

/** The message lifecycle's routes (issue 14): each must be listed, and protected. */
const LIFECYCLE_ROUTES = [
  'PATCH /api/chats/conversations/{id}/messages/{messageId}',
  'DELETE /api/chats/conversations/{id}/messages/{messageId}',
  'PUT /api/chats/conversations/{id}/messages/{messageId}/reactions/{emoji}',
  'DELETE /api/chats/conversations/{id}/messages/{messageId}/reactions/{emoji}',
];

/** The ways one path can be written that a router or proxy may read as the same. */
function spellings(path: string): string[] {
  const [, first = '', ...rest] = path.split('/');
  const tail = rest.length ? `/${rest.join('/')}` : '';
  const encodeFirst = (s: string) => `%${s.charCodeAt(0).toString(16)}${s.slice(1)}`;
  return [
    path,
    `/${first.toUpperCase()}${tail}`,
    `/${first[0]!.toUpperCase()}${first.slice(1)}${tail}`,
    `//${first}${tail}`,
    `/${encodeFirst(first)}${tail}`,
    rest.length
      ? `/${first}/${encodeFirst(rest[0]!)}${rest.length > 1 ? `/${rest.slice(1).join('/')}` : ''}`
      : path,
    rest.length
      ? `/${first}/${rest[0]!.toUpperCase()}${rest.length > 1 ? `/${rest.slice(1).join('/')}` : ''}`
      : path,
    `${path}/`,
    `${path}%2F`,
    `/./${first}${tail}`,
  ];
}

/** The admin API (seed 001's roles and mentors) takes this deployment token, never a user's. */
const ADMIN_TOKEN = 'routes-test-admin-token-0123456789abcdef';
/** Push on, so that its routes answer 2xx with a token; a device's subscription (never sent to: nobody is offline). */
const vapid = webpush.generateVAPIDKeys();
const pushDevice = createECDH('prime256v1');
pushDevice.generateKeys();
const subscription = {
  endpoint: 'https://push.example.com/routes-test',
  keys: {
    p256dh: pushDevice.getPublicKey().toString('base64url'),
    auth: randomBytes(16).toString('base64url'),
  },
};
const isAdmin = (path: string) => path.startsWith('/api/admin/');

let cluster: Cluster;
let gw: string;
let alice: AuthResult;
let conversation: Conversation;
let group: Conversation;
let [bob, carol, dave]: AuthResult[] = [];
/** Alice's messages: one to edit (in the group), one to delete and one to react to (in the 1:1 conversation). */
let toEdit: Message;
let toDelete: Message;
let toReact: Message;
/** Webhook endpoints of the admin API's routes: one for every route, one to delete. */
let webhook: { id: number };
let webhookToDelete: { id: number };

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 1,
    chats: 1,
    gatewayEnv: { ADMIN_TOKEN, VAPID_PUBLIC_KEY: vapid.publicKey },
    chatsEnv: {
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:ops@parley.test',
    },
  });
  gw = cluster.gatewayUrl(0);
  alice = await registerUser(gw, 'rtA');
  [bob, carol, dave] = await Promise.all(['rtB', 'rtC', 'rtD'].map((p) => registerUser(gw, p)));
  conversation = await conversationBetween(gw, alice, bob!);
  group = (
    await api<Conversation>(gw, 'POST', '/api/chats/conversations', {
      token: alice.tokens.access,
      body: { type: 'group', title: 'Routes', member_ids: [bob!.user.id, carol!.user.id] },
    })
  ).body;
  const send = async (conversationId: number, content: string) =>
    (
      await api<Message>(gw, 'POST', `/api/chats/conversations/${conversationId}/messages`, {
        token: alice.tokens.access,
        body: { message_type: 'text', content },
      })
    ).body;
  // Bob can be alice's mentor (the admin API's mentor route, tried below).
  expect(
    (
      await api(gw, 'PUT', `/api/admin/users/${bob!.user.id}/role`, {
        token: ADMIN_TOKEN,
        body: { role: 'TRAINER' },
      })
    ).status,
  ).toBe(200);
  [webhook, webhookToDelete] = (await Promise.all(
    [1, 2].map(
      async () =>
        (
          await api(gw, 'POST', '/api/admin/webhooks', {
            token: ADMIN_TOKEN,
            body: { url: 'http://127.0.0.1:9/hooks', events: ['message.new'] },
          })
        ).body as { id: number },
    ),
  )) as [{ id: number }, { id: number }];
  toEdit = await send(group.id, 'to edit');
  toDelete = await send(conversation.id, 'to delete');
  toReact = await send(conversation.id, 'to react to');
  const served = await api<OpenApi>(gw, 'GET', '/api/docs-json');
  expect(served.status).toBe(200);
  routes = union(committedRoutes, routesOf(served.body));
});
afterAll(async () => {
  await cluster?.stop();
});

/** A request that would succeed for alice, if it got through: real ids, a valid body. */
function concrete(route: Route): { path: string; body?: unknown } {
  const groupRoute = route.path.includes('/members') || route.method === 'PATCH';
  // Edits the group's message; deletes one message of the 1:1 conversation, reacts to (and unreacts from) another
  // (a tombstone takes no reactions). A repeated edit, deletion or reaction changes nothing and still answers 200.
  const message = route.path.includes('/reactions/') ? toReact : route.method === 'PATCH' ? toEdit : toDelete;
  const path = route.path
    .replace('/api/admin/users/{id}', `/api/admin/users/${alice.user.id}`)
    .replace(
      '/api/admin/webhooks/{id}',
      `/api/admin/webhooks/${route.method === 'DELETE' ? webhookToDelete.id : webhook.id}`,
    )
    .replace('/api/users/{id}/block', `/api/users/${dave!.user.id}/block`)
    .replace('/api/users/{id}', `/api/users/${alice.user.id}`)
    .replace('{id}', String(groupRoute ? group.id : conversation.id))
    // removes carol; makes bob an admin
    .replace('{userId}', String(route.method === 'DELETE' ? carol!.user.id : bob!.user.id))
    .replace('{messageId}', String(message.id))
    .replace('{emoji}', encodeURIComponent('👍'));
  const bodies: Record<string, unknown> = {
    'POST /api/chats/conversations': { receiver_id: bob!.user.id },
    [`POST /api/chats/conversations/${conversation.id}/messages`]: {
      message_type: 'text',
      content: 'spelled',
    },
    [`POST /api/chats/conversations/${conversation.id}/read`]: {},
    [`POST /api/chats/conversations/${group.id}/members`]: { user_ids: [dave!.user.id] },
    [`PATCH /api/chats/conversations/${group.id}`]: { title: 'Renamed' },
    [`PATCH /api/chats/conversations/${group.id}/members/${bob!.user.id}`]: { role: 'admin' },
    [`PUT /api/chats/conversations/${conversation.id}/mute`]: {},
    [`PATCH /api/chats/conversations/${group.id}/messages/${toEdit.id}`]: { content: 'spelled, edited' },
    [`PUT /api/admin/users/${alice.user.id}/role`]: { role: 'STUDENT' },
    [`PUT /api/admin/users/${alice.user.id}/mentor`]: { mentor_id: bob!.user.id },
    'POST /api/push/subscriptions': subscription,
    'DELETE /api/push/subscriptions': { endpoint: subscription.endpoint },
    'POST /api/admin/webhooks': { url: 'http://127.0.0.1:9/more', events: ['member.added'] },
    [`PATCH /api/admin/webhooks/${webhook.id}`]: { enabled: false },
  };
  const body = bodies[`${route.method} ${path}`];
  if (body === undefined && route.method === 'GET' && path === '/api/users') {
    return { path: `${path}?username=${alice.user.username}` };
  }
  return { path, body: body ?? (route.method === 'POST' ? {} : undefined) };
}

describe('every route fails closed', () => {
  it('knows the routes (the OpenAPI file lists the protected ones with bearer security)', () => {
    expect(routes.filter((r) => !r.public).length).toBeGreaterThanOrEqual(11);
    // The lifecycle's routes are served and protected (tried below like every other).
    const protectedRoutes = routes.filter((r) => !r.public).map((r) => `${r.method} ${r.path}`);
    for (const route of LIFECYCLE_ROUTES) expect(protectedRoutes, route).toContain(route);
    expect(routes.filter((r) => r.public).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /health/live',
      'GET /health/ready',
      'POST /api/auth/register',
      'POST /api/auth/login',
      'POST /api/auth/refresh',
    ]);
  });

  it('answers no protected route with 2xx without a token, however its path is spelled', async () => {
    const answered: string[] = [];
    let tried = 0;
    for (const route of routes.filter((r) => !r.public)) {
      const { path, body } = concrete(route);
      // With a token, the plain spelling works: the requests below would succeed if the guard let them by. (A
      // fresh login each time: the logout routes end the session they are called with.)
      const login = await api<AuthResult>(gw, 'POST', '/api/auth/login', {
        body: { username: alice.user.username, password: 'correct horse battery' },
      });
      const token = isAdmin(path) ? ADMIN_TOKEN : login.body.tokens.access;
      const withToken = await api(gw, route.method, path, { token, body });
      if (isAdmin(path)) {
        // A user's token is no admin token.
        const asUser = await api(gw, route.method, path, { token: login.body.tokens.access, body });
        expect({ route: `${route.method} ${path}`, status: asUser.status }).toEqual({
          route: `${route.method} ${path}`,
          status: 403,
        });
      }
      expect({ route: `${route.method} ${path}`, status: withToken.status < 300 }).toEqual({
        route: `${route.method} ${path}`,
        status: true,
      });
      for (const spelled of spellings(path)) {
        tried++;
        const res = await fetch(`${gw}${spelled}`, {
          method: route.method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        await res.arrayBuffer();
        if (res.status < 300) answered.push(`${route.method} ${spelled} → ${res.status}`);
      }
    }
    expect(answered).toEqual([]);
    expect(tried).toBeGreaterThan(100);
  });

  it('routes only the exact spelling, even with a token (case-sensitive, strict routing)', async () => {
    const { tokens } = await registerUser(gw, 'rtC');
    const me = '/api/users/me';
    expect((await api(gw, 'GET', me, { token: tokens.access })).status).toBe(200);
    for (const spelled of ['/API/users/me', '/api/Users/me', '/api/users/me/', '//api/users/me']) {
      expect({
        spelled,
        status: (await api(gw, 'GET', spelled, { token: tokens.access })).status,
      }).toEqual({
        spelled,
        status: 404,
      });
    }
  });

  it('keeps the public routes public: health, metrics, docs, the AsyncAPI file and the demo', async () => {
    for (const path of [
      '/health/live',
      '/health/ready',
      '/metrics',
      '/api/docs',
      '/api/docs-json',
      '/api/asyncapi.json',
      '/',
    ]) {
      const res = await fetch(`${gw}${path}`);
      await res.arrayBuffer();
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
  });
});
