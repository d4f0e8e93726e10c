import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { ErrorMessages, type AuthTokens } from '@parley/contracts/wire';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScriptedGateway } from '../test/scripted-gateway.js';
import { ParleyAuth } from './auth.js';
import { ParleyApiError, ParleyRest } from './rest.js';

// ParleyAuth against a real HTTP server that rotates refresh tokens like the gateway: each works once.

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const token = (sub: number, exp: number, n: number) =>
  `${b64url({ alg: 'HS256' })}.${b64url({ sub: String(sub), exp, n })}.sig`;

let server: Server;
let baseUrl: string;
let refreshCalls: string[];
let valid: Set<string>;
let issued = 0;
let accessExp: number;

function issue(): AuthTokens {
  issued++;
  const refresh = `refresh-${issued}`;
  valid.add(refresh);
  return { access: token(7, accessExp, issued), refresh };
}

beforeEach(async () => {
  refreshCalls = [];
  issued = 0;
  valid = new Set();
  accessExp = Math.floor(Date.now() / 1000) + 900;
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.url === '/api/auth/refresh') {
        const { refresh } = JSON.parse(body) as { refresh: string };
        refreshCalls.push(refresh);
        if (!valid.delete(refresh)) return send(401, { statusCode: 401, message: 'Invalid refresh token' });
        // slow enough that concurrent callers overlap
        setTimeout(() => send(200, { tokens: issue() }), 50);
        return;
      }
      if (req.url === '/api/auth/login') {
        res.setHeader('retry-after', '7');
        return send(429, { statusCode: 429, message: ErrorMessages.tooManyAttempts });
      }
      if (req.url === '/api/users/2') {
        res.setHeader('retry-after', new Date(Date.now() + 30_000).toUTCString());
        return send(503, { statusCode: 503, message: ErrorMessages.serviceBusy });
      }
      if (req.url === '/api/users/me') {
        const auth = req.headers.authorization ?? '';
        const n = Number(JSON.parse(Buffer.from(auth.split('.')[1] ?? '', 'base64url').toString() || '{}').n);
        // only the newest access token is accepted here, to make the REST client refresh once
        if (n !== issued) return send(401, { statusCode: 401, message: 'Unauthorized' });
        return send(200, { id: 7, username: 'me', display_name: 'me', created_at: '' });
      }
      send(404, { statusCode: 404, message: ['not', 'found'] });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

describe('ParleyAuth', () => {
  it('hands out the access token as is while it is fresh', async () => {
    const auth = new ParleyAuth({ baseUrl, tokens: issue() });
    expect(await auth.getToken()).toBe(auth.tokens!.access);
    expect(auth.userId).toBe(7);
    expect(refreshCalls).toEqual([]);
  });

  it('refreshes shortly before expiry, once for concurrent callers (a refresh token works once)', async () => {
    accessExp = Math.floor(Date.now() / 1000) + 30; // inside the 60 s skew
    const saved: Array<AuthTokens | null> = [];
    const first = issue();
    accessExp = Math.floor(Date.now() / 1000) + 900;
    const auth = new ParleyAuth({ baseUrl, tokens: first, onChange: (t) => saved.push(t) });
    const tokens = await Promise.all(Array.from({ length: 5 }, () => auth.getToken()));
    expect(refreshCalls).toEqual(['refresh-1']);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(first.access);
    expect(saved).toEqual([{ access: tokens[0], refresh: 'refresh-2' }]);
    // forceRefresh right after a refresh does not spend another refresh token
    await auth.getToken({ forceRefresh: true });
    expect(refreshCalls).toEqual(['refresh-1']);
  });

  it('refreshes when forced (a server refused the token), and logs out when the refresh token is refused', async () => {
    const saved: Array<AuthTokens | null> = [];
    const auth = new ParleyAuth({
      baseUrl,
      tokens: issue(),
      onChange: (t) => saved.push(t),
      now: () => Date.now(),
    });
    await auth.getToken({ forceRefresh: true });
    expect(refreshCalls).toEqual(['refresh-1']);
    valid.clear(); // revoked
    const later = new ParleyAuth({ baseUrl, tokens: auth.tokens, onChange: (t) => saved.push(t) });
    const err = await later.getToken({ forceRefresh: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParleyApiError);
    expect((err as ParleyApiError).status).toBe(401);
    expect(later.tokens).toBeNull();
    expect(saved.at(-1)).toBeNull();
    await expect(later.getToken()).rejects.toThrow('Not logged in');
  });
});

describe('ParleyRest', () => {
  it('retries a 401 once with a refreshed token', async () => {
    const auth = new ParleyAuth({ baseUrl, tokens: issue() });
    issue(); // the server now only accepts a newer access token than the one auth holds
    valid.add(auth.tokens!.refresh);
    const rest = new ParleyRest({ baseUrl, getToken: auth.getToken });
    expect((await rest.me()).id).toBe(7);
    expect(refreshCalls).toHaveLength(1);
  });

  it("turns errors into ParleyApiError with the server's message (arrays joined), and network failures into status 0", async () => {
    const rest = new ParleyRest({ baseUrl, getToken: () => 'x' });
    const err = await rest.user(1).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, message: 'not, found' });
    expect((err as ParleyApiError).retryAfterSeconds).toBeUndefined();
    const down = new ParleyRest({ baseUrl: 'http://127.0.0.1:1', getToken: () => 'x' });
    await expect(down.me()).rejects.toMatchObject({ status: 0 });
  });
});

describe('ParleyRest: throttling', () => {
  it('gives a 429 (or 503) the Retry-After of the response, in seconds (delta-seconds or an HTTP date)', async () => {
    const rest = new ParleyRest({ baseUrl, getToken: () => 'x' });
    const throttled = await rest.login('me', 'wrong').catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(ParleyApiError);
    expect(throttled).toMatchObject({
      status: 429,
      message: ErrorMessages.tooManyAttempts,
      retryAfterSeconds: 7,
    });
    const busy = (await rest.user(2).catch((e: unknown) => e)) as ParleyApiError;
    expect(busy.status).toBe(503);
    expect(busy.retryAfterSeconds).toBeGreaterThanOrEqual(28);
    expect(busy.retryAfterSeconds).toBeLessThanOrEqual(30);
  });
});

const requestUrl = (input: Parameters<typeof fetch>[0]) =>
  typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ParleyAuth: logout', () => {
  let gw: ScriptedGateway;
  beforeEach(async () => {
    gw = await new ScriptedGateway().start();
  });
  afterEach(async () => {
    await gw.stop();
  });

  function login(tokens: AuthTokens, options: { fetch?: typeof fetch } = {}) {
    const saved: Array<AuthTokens | null> = [];
    const auth = new ParleyAuth({ baseUrl: gw.url, tokens, onChange: (t) => saved.push(t), ...options });
    return { auth, saved };
  }

  it('ends the session on the server with the access and the refresh token, then forgets them', async () => {
    const tokens = gw.issue(7);
    const { auth, saved } = login(tokens);
    expect(await auth.logout()).toBe(true);
    expect(gw.logouts).toEqual([
      { path: '/api/auth/logout', token: tokens.access, body: { refresh: tokens.refresh } },
    ]);
    expect(gw.endedSessions).toEqual(new Set(['s-1']));
    expect(auth.tokens).toBeNull();
    expect(saved).toEqual([null]);
    await expect(auth.rest.refresh(tokens.refresh)).rejects.toMatchObject({ status: 401 });
  });

  it('refreshes an expired access token first (a logout needs a valid one), and ends the session with the new ones', async () => {
    const tokens = gw.issue(7, { ttlSeconds: -1 });
    const { auth, saved } = login(tokens);
    expect(await auth.logout()).toBe(true);
    expect(gw.restCalls).toEqual(['POST /api/auth/refresh', 'POST /api/auth/logout']);
    const renewed = saved[0]!;
    expect(gw.logouts).toEqual([
      { path: '/api/auth/logout', token: renewed.access, body: { refresh: renewed.refresh } },
    ]);
    expect(saved).toEqual([renewed, null]);
    expect(gw.endedSessions).toEqual(new Set(['s-1']));
  });

  it('treats a 401 as a session that is over already: resolves true and forgets the tokens', async () => {
    const tokens = gw.issue(7);
    gw.endSession('s-1'); // e.g. logout-all on another device
    const { auth, saved } = login(tokens);
    expect(await auth.logout()).toBe(true);
    expect(gw.logouts).toHaveLength(1);
    expect(gw.restCalls).toEqual(['POST /api/auth/logout']); // no refresh attempt after the 401
    expect(saved).toEqual([null]);
  });

  it('forgets the tokens even when the server cannot be reached (resolves false)', async () => {
    const tcp = createTcpServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const { port } = tcp.address() as AddressInfo;
    await new Promise<void>((r) => tcp.close(() => r()));
    const saved: Array<AuthTokens | null> = [];
    const auth = new ParleyAuth({
      baseUrl: `http://127.0.0.1:${port}`,
      tokens: gw.issue(7),
      onChange: (t) => saved.push(t),
    });
    expect(await auth.logout()).toBe(false);
    expect(auth.tokens).toBeNull();
    expect(auth.loggedIn).toBe(false);
    expect(saved).toEqual([null]);
    await expect(auth.getToken()).rejects.toThrow('Not logged in');
  });

  it('keeps a login that came while a slow logout was under way', async () => {
    let releaseLogout!: () => void;
    const held = new Promise<void>((r) => (releaseLogout = r));
    const slowLogout: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (requestUrl(input).endsWith('/api/auth/logout')) await held;
      return res;
    };
    const { auth } = login(gw.issue(7), { fetch: slowLogout });
    const out = auth.logout();
    await until('the logout arrived', () => gw.logouts.length === 1);
    const { tokens: next } = await auth.login('user7', 'again'); // signed in again meanwhile
    releaseLogout();
    expect(await out).toBe(true);
    expect(auth.tokens).toEqual(next);
    expect(gw.endedSessions).toEqual(new Set(['s-1']));
  });

  it('logoutAll ends every session of the user', async () => {
    const here = gw.issue(7);
    const elsewhere = gw.issue(7);
    const { auth } = login(here);
    expect(await auth.logoutAll()).toBe(true);
    expect(gw.logouts).toEqual([{ path: '/api/auth/logout-all', token: here.access, body: undefined }]);
    expect(gw.endedSessions).toEqual(new Set(['s-1', 's-2']));
    await expect(auth.rest.refresh(elsewhere.refresh)).rejects.toMatchObject({ status: 401 });
    expect(auth.tokens).toBeNull();
  });

  it('waits for a refresh in flight (one refresh at a time) and ends the session with its tokens', async () => {
    const { auth, saved } = login(gw.issue(7));
    const refreshing = auth.getToken({ forceRefresh: true });
    const out = auth.logout();
    await refreshing;
    expect(await out).toBe(true);
    expect(gw.restCalls).toEqual(['POST /api/auth/refresh', 'POST /api/auth/logout']);
    expect(gw.logouts[0]!.token).toBe(saved[0]!.access);
    expect(gw.logouts[0]!.body).toEqual({ refresh: saved[0]!.refresh });
    expect(auth.tokens).toBeNull();
  });

  it('does not let a refresh that answers after the logout bring the tokens back', async () => {
    // The refresh reaches the server before the logout, but its answer comes back only after the logout is done.
    let refreshArrived!: () => void;
    const arrived = new Promise<void>((r) => (refreshArrived = r));
    let releaseRefresh!: () => void;
    const released = new Promise<void>((r) => (releaseRefresh = r));
    const slowRefresh: typeof fetch = async (input, init) => {
      const url = requestUrl(input);
      if (url.endsWith('/api/auth/logout')) await arrived;
      const res = await fetch(input, init);
      if (url.endsWith('/api/auth/refresh')) {
        refreshArrived();
        await released;
      }
      return res;
    };
    const { auth } = login(gw.issue(7), { fetch: slowRefresh });
    const out = auth.logout();
    const late = auth.getToken({ forceRefresh: true }); // e.g. a REST call that got a 401 meanwhile
    expect(await out).toBe(true);
    releaseRefresh();
    await expect(late).rejects.toMatchObject({ status: 401 });
    expect(auth.tokens).toBeNull();
    expect(auth.loggedIn).toBe(false);
  });
});
