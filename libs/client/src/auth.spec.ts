import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthTokens } from '@parley/contracts/wire';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
    const down = new ParleyRest({ baseUrl: 'http://127.0.0.1:1', getToken: () => 'x' });
    await expect(down.me()).rejects.toMatchObject({ status: 0 });
  });
});
