import type { AuthResult } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { api, Cluster, registerUser, signHs256, type AppProcess } from '@parley/testing';

// Finding: "Auth endpoints are unthrottled: unlimited password guessing, and argon2 hashing floods starve real
// logins". Per client address (RATE_LIMIT_AUTH_PER_IP_PER_MINUTE) and per username's failed logins
// (RATE_LIMIT_LOGIN_FAILURES_PER_USERNAME) → 429 `Too many attempts, retry later` with Retry-After; X-Forwarded-For
// believed only with TRUST_PROXY; concurrent hashes capped per chats instance (PASSWORD_HASH_CONCURRENCY/_QUEUE).

let cluster: Cluster;
let direct: AppProcess;
let behindProxy: AppProcess;
let unthrottled: AppProcess;
const PER_ADDRESS = 8;
const FAILURES = 3;
const PASSWORD = 'correct horse battery';

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 0,
    chats: 1,
    chatsEnv: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '2' },
  });
  const throttled = {
    RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: String(PER_ADDRESS),
    RATE_LIMIT_LOGIN_FAILURES_PER_USERNAME: String(FAILURES),
  };
  [direct, behindProxy, unthrottled] = await Promise.all([
    cluster.startGateway(throttled),
    cluster.startGateway({ ...throttled, TRUST_PROXY: 'loopback' }),
    cluster.startGateway({ RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: '100000' }),
  ]);
});
afterAll(async () => {
  await cluster?.stop();
});

const login = (url: string, username: string, password: string, headers: Record<string, string> = {}) =>
  api<{ message: string }>(url, 'POST', '/api/auth/login', { body: { username, password }, headers });

describe('auth throttling', () => {
  it('refuses an address past its per-minute budget of auth requests, with Retry-After, whatever the endpoint', async () => {
    const user = await registerUser(unthrottled.url, 'ipA');
    // Each address has its own budget: a forwarded address, believed by the gateway behind a trusted proxy.
    const from = { 'x-forwarded-for': '198.51.100.7' };
    const forged = signHs256(
      {
        sub: String(user.user.id),
        typ: 'refresh',
        jti: randomUUID(),
        exp: Math.floor(Date.now() / 1000) + 60,
      },
      'not-the-secret-of-this-deployment',
    );
    const statuses: number[] = [];
    for (let i = 0; i < PER_ADDRESS + 3; i++) {
      const res =
        i % 2 === 0
          ? await login(behindProxy.url, user.user.username, PASSWORD, from)
          : await api(behindProxy.url, 'POST', '/api/auth/refresh', {
              body: { refresh: forged },
              headers: from,
            });
      statuses.push(res.status);
      if (res.status === 429) expect(res.body).toMatchObject({ message: 'Too many attempts, retry later' });
    }
    expect(statuses.slice(0, PER_ADDRESS).every((s) => s !== 429)).toBe(true);
    expect(statuses.slice(PER_ADDRESS)).toEqual([429, 429, 429]);
    const res = await fetch(`${behindProxy.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...from },
      body: JSON.stringify({ username: user.user.username, password: PASSWORD }),
    });
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another address is not affected.
    expect(
      (await login(behindProxy.url, user.user.username, PASSWORD, { 'x-forwarded-for': '198.51.100.8' }))
        .status,
    ).toBe(200);
  });

  it('does not believe X-Forwarded-For without TRUST_PROXY: a spoofed header buys no fresh budget', async () => {
    const user = await registerUser(unthrottled.url, 'ipB');
    const statuses: number[] = [];
    for (let i = 0; i < PER_ADDRESS + 2; i++) {
      const res = await login(direct.url, user.user.username, PASSWORD, {
        'x-forwarded-for': `203.0.113.${i}`,
      });
      statuses.push(res.status);
    }
    // All of them count against the peer's address (127.0.0.1, shared with this file's other requests): at most
    // PER_ADDRESS get through, and the last ones are refused whatever address they claim.
    expect(statuses.filter((s) => s !== 429).length).toBeLessThanOrEqual(PER_ADDRESS);
    expect(statuses.slice(-2)).toEqual([429, 429]);
  });

  it('refuses a username after its failed logins, even with the right password, without saying whether it exists', async () => {
    const [victim, bystander] = await Promise.all([
      registerUser(unthrottled.url, 'pwA'),
      registerUser(unthrottled.url, 'pwB'),
    ]);
    const address = (n: number) => ({ 'x-forwarded-for': `192.0.2.${n}` }); // a fresh address each time
    for (let i = 0; i < FAILURES; i++) {
      expect((await login(behindProxy.url, victim.user.username, 'wrong password', address(i))).status).toBe(
        401,
      );
    }
    const locked = await login(behindProxy.url, victim.user.username, PASSWORD, address(10));
    expect(locked).toMatchObject({ status: 429, body: { message: 'Too many attempts, retry later' } });
    // Usernames are case-insensitive, and so are their failures.
    expect(
      (await login(behindProxy.url, victim.user.username.toUpperCase(), PASSWORD, address(11))).status,
    ).toBe(429);
    // An unknown username is throttled the same way (the answers do not tell which usernames exist).
    for (let i = 0; i < FAILURES; i++) await login(behindProxy.url, 'nobody-here', 'x', address(20 + i));
    expect((await login(behindProxy.url, 'nobody-here', 'x', address(30))).status).toBe(429);
    // Others log in as usual, and a success clears the count of failures.
    expect((await login(behindProxy.url, bystander.user.username, 'wrong', address(40))).status).toBe(401);
    expect((await login(behindProxy.url, bystander.user.username, PASSWORD, address(41))).status).toBe(200);
    for (let i = 0; i < FAILURES - 1; i++) {
      expect((await login(behindProxy.url, bystander.user.username, 'wrong', address(50 + i))).status).toBe(
        401,
      );
    }
    expect((await login(behindProxy.url, bystander.user.username, PASSWORD, address(60))).status).toBe(200);
  });

  it('caps concurrent password hashes per chats instance: a flood is refused fast, and real logins work after', async () => {
    const user: AuthResult = await registerUser(unthrottled.url, 'hash');
    // Sixty at once, each for another (unknown) username, which costs a hash all the same: enough that the cap
    // shows however fast this machine hashes, and no username collects enough failures to be locked.
    const flood = await Promise.all(
      Array.from({ length: 60 }, (_, i) => login(unthrottled.url, `flood-${i}`, 'a wrong password')),
    );
    const statuses = flood.map((r) => r.status);
    // One hash at a time and two waiting (this cluster's settings): the rest are told to come back later.
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(3);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(10);
    expect(new Set(flood.filter((r) => r.status === 503).map((r) => r.body.message))).toEqual(
      new Set(['Service busy, retry later']),
    );
    expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
    expect((await login(unthrottled.url, user.user.username, PASSWORD)).status).toBe(200);
  });
});
