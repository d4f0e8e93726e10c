import type { AuthResult, AuthTokens } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  claimsOf,
  Cluster,
  connect,
  connectRecorded,
  deleteKeys,
  registerUser,
  request,
  shortLivedAccess,
  sleep,
  waitFor,
  type ChatClient,
  type Recorder,
} from '@parley/testing';

// Finding: "A socket outlives its token and its session" (the token was checked once at the handshake, and there
// was no logout). Sessions as PROTOCOL.md § Authentication says, on 2 gateways: logout and logout-all end a
// session everywhere (refresh tokens, access tokens, sockets within 5 s), a socket closes at its token's exp
// unless it authenticates again, two tabs refreshing at once stay logged in, and ended sessions are purged.

let cluster: Cluster;
let gw: [string, string];
const sockets: ChatClient[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 1,
    chatsEnv: { SESSION_RETENTION_SECONDS: '60', SESSION_PURGE_INTERVAL_MS: '300' },
  });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
});

const PASSWORD = 'correct horse battery';

async function login(user: AuthResult, url = gw[0]): Promise<AuthTokens> {
  const res = await api<AuthResult>(url, 'POST', '/api/auth/login', {
    body: { username: user.user.username, password: PASSWORD },
  });
  expect(res.status).toBe(200);
  return res.body.tokens;
}

async function recorded(url: string, token: string): Promise<Recorder> {
  const r = await connectRecorded(url, { token });
  sockets.push(r.socket);
  return r;
}

/** Resolves once the socket was told `message` and disconnected (within the contract's 5 s). */
async function endedWith(r: Recorder, message: string): Promise<void> {
  await waitFor(
    `error "${message}" and a disconnect`,
    () => r.socket.disconnected && r.of<{ message: string }>('error').some((e) => e.message === message),
    5000,
  );
}

describe('sessions', () => {
  it('names the session in every token, and gives access tokens an expiry', async () => {
    const user = await registerUser(gw[0], 'sesA');
    const access = claimsOf<{ sid: string; exp: number; typ: string }>(user.tokens.access);
    const refresh = claimsOf<{ sid: string; jti: string }>(user.tokens.refresh);
    expect(access.sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(refresh.sid).toBe(access.sid);
    expect(access.exp).toBeGreaterThan(Date.now() / 1000);
    const [row] = await cluster.db.sql<{ id: string; current_jti: string; ended_at: Date | null }>(
      'SELECT id, current_jti, ended_at FROM sessions WHERE id = $1',
      [access.sid],
    );
    expect(row).toMatchObject({ id: access.sid, current_jti: refresh.jti, ended_at: null });
  });

  it('logout ends one session everywhere: refresh and access tokens refused, its sockets on both gateways closed; the other session lives', async () => {
    const user = await registerUser(gw[0], 'sesB');
    const other = await login(user, gw[1]);
    const s1a = await recorded(gw[0], user.tokens.access);
    const s1b = await recorded(gw[1], user.tokens.access);
    const s2 = await recorded(gw[1], other.access);

    const out = await api(gw[0], 'POST', '/api/auth/logout', { token: user.tokens.access });
    expect(out.status).toBe(204);
    await Promise.all([endedWith(s1a, 'Session ended'), endedWith(s1b, 'Session ended')]);

    expect(
      (await api(gw[1], 'POST', '/api/auth/refresh', { body: { refresh: user.tokens.refresh } })).status,
    ).toBe(401);
    for (const url of gw) {
      const res = await api(url, 'GET', '/api/users/me', { token: user.tokens.access });
      expect(res).toMatchObject({ status: 401, body: { message: 'Session ended' } });
      await expect(connect(url, { token: user.tokens.access })).rejects.toThrow('Unauthorized');
    }
    // The user's other session is untouched.
    expect(s2.socket.connected).toBe(true);
    expect((await api(gw[0], 'GET', '/api/users/me', { token: other.access })).status).toBe(200);
    expect((await api(gw[0], 'POST', '/api/auth/refresh', { body: { refresh: other.refresh } })).status).toBe(
      200,
    );
    // Logging out again is harmless; so is a logout that names the session only by its refresh token.
    expect((await api(gw[1], 'POST', '/api/auth/logout', { token: other.access, body: {} })).status).toBe(
      204,
    );
  });

  it('logout-all ends every session of the user and closes all their sockets', async () => {
    const user = await registerUser(gw[1], 'sesC');
    const second = await login(user, gw[0]);
    const third = await login(user, gw[1]);
    const open = await Promise.all([
      recorded(gw[0], user.tokens.access),
      recorded(gw[1], second.access),
      recorded(gw[0], third.access),
    ]);
    const bystander = await registerUser(gw[0], 'sesD');
    const theirs = await recorded(gw[1], bystander.tokens.access);

    expect((await api(gw[1], 'POST', '/api/auth/logout-all', { token: second.access })).status).toBe(204);
    await Promise.all(open.map((r) => endedWith(r, 'Session ended')));
    for (const tokens of [user.tokens, second, third]) {
      expect(
        (await api(gw[0], 'POST', '/api/auth/refresh', { body: { refresh: tokens.refresh } })).status,
      ).toBe(401);
    }
    const [{ n }] = (await cluster.db.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND ended_at IS NULL',
      [user.user.id],
    )) as [{ n: number }];
    expect(n).toBe(0);
    expect(theirs.socket.connected).toBe(true);
    // Logging in again starts a fresh session.
    const again = await login(user);
    expect((await api(gw[1], 'GET', '/api/users/me', { token: again.access })).status).toBe(200);
  });

  it('two tabs refreshing with the same token at once both stay logged in, with the same new token', async () => {
    const user = await registerUser(gw[0], 'sesE');
    const [a, b] = await Promise.all(
      gw.map((url) =>
        api<{ tokens: AuthTokens }>(url, 'POST', '/api/auth/refresh', {
          body: { refresh: user.tokens.refresh },
        }),
      ),
    );
    expect([a!.status, b!.status]).toEqual([200, 200]);
    expect(claimsOf<{ jti: string }>(a!.body.tokens.refresh).jti).toBe(
      claimsOf<{ jti: string }>(b!.body.tokens.refresh).jti,
    );
    const next = await api(gw[1], 'POST', '/api/auth/refresh', { body: { refresh: b!.body.tokens.refresh } });
    expect(next.status).toBe(200);
  });
});

describe('a socket lives no longer than its token', () => {
  it('closes at exp with "Token expired"', async () => {
    const user = await registerUser(gw[0], 'expA');
    const r = await recorded(gw[1], shortLivedAccess(user.tokens.access, 2));
    expect(r.socket.connected).toBe(true);
    await waitFor('the socket to be closed at its exp', () => r.socket.disconnected, 6000);
    expect(r.of('error')).toEqual([{ message: 'Token expired' }]);
  });

  it('stays open past exp after authenticate with a fresh token of the same user', async () => {
    const user = await registerUser(gw[0], 'expB');
    const r = await recorded(gw[0], shortLivedAccess(user.tokens.access, 2));
    const ack = await request<{ success: boolean; expires_at: string }>(r.socket, 'authenticate', {
      token: user.tokens.access,
    });
    expect(ack.success).toBe(true);
    expect(Date.parse(ack.expires_at)).toBe(claimsOf<{ exp: number }>(user.tokens.access).exp * 1000);
    await sleep(3500);
    expect(r.socket.connected).toBe(true);
    expect(r.of('error')).toEqual([]);
    // And it still works: a join is served.
    expect(
      (
        await request<{ success: boolean; error?: string }>(r.socket, 'join-conversation', {
          conversationId: 999_999,
          userId: user.user.id,
        })
      ).error,
    ).toBe('Conversation not found');
  });

  it("refuses another user's token, a bad token and an ended session's token, and keeps the old expiry", async () => {
    const [user, someoneElse] = await Promise.all([registerUser(gw[1], 'expC'), registerUser(gw[1], 'expD')]);
    const ended = await login(user, gw[1]);
    expect((await api(gw[1], 'POST', '/api/auth/logout', { token: ended.access })).status).toBe(204);
    const r = await recorded(gw[1], shortLivedAccess(user.tokens.access, 3));
    for (const token of [someoneElse.tokens.access, 'not-a-token', user.tokens.refresh, ended.access]) {
      const ack = await request<{ success: boolean; error?: string }>(r.socket, 'authenticate', { token });
      expect(ack).toEqual({ success: false, error: 'Unauthorized' });
    }
    await waitFor('the socket to be closed at its original exp', () => r.socket.disconnected, 7000);
    expect(r.of<{ message: string }>('error').at(-1)).toEqual({ message: 'Token expired' });
  });
});

describe('ended sessions stay ended', () => {
  it('a gateway started after a logout refuses its tokens, even when Redis lost the record of it', async () => {
    const user = await registerUser(gw[0], 'bootA');
    expect((await api(gw[0], 'POST', '/api/auth/logout', { token: user.tokens.access })).status).toBe(204);
    await deleteKeys(`${cluster.redisPrefix}sessions:`, cluster.redisUrl);
    const fresh = await cluster.startGateway();
    await waitFor('the new gateway to learn the ended session from Postgres', async () => {
      const res = await api(fresh.url, 'GET', '/api/users/me', { token: user.tokens.access });
      return res.status === 401;
    });
    await expect(connect(fresh.url, { token: user.tokens.access })).rejects.toThrow('Unauthorized');
  });

  it('purges ended and expired sessions after SESSION_RETENTION_SECONDS, and keeps live ones', async () => {
    const [ended, expired, live] = await Promise.all([
      registerUser(gw[0], 'purgeA'),
      registerUser(gw[0], 'purgeB'),
      registerUser(gw[0], 'purgeC'),
    ]);
    const sid = (u: AuthResult) => claimsOf<{ sid: string }>(u.tokens.access).sid;
    expect((await api(gw[1], 'POST', '/api/auth/logout', { token: ended.tokens.access })).status).toBe(204);
    // Older than the retention (60 s here): one ended an hour ago, one whose refresh token expired an hour ago.
    await cluster.db.sql(`UPDATE sessions SET ended_at = now() - interval '1 hour' WHERE id = $1`, [
      sid(ended),
    ]);
    await cluster.db.sql(`UPDATE sessions SET expires_at = now() - interval '1 hour' WHERE id = $1`, [
      sid(expired),
    ]);
    await waitFor('the purge', async () => {
      const rows = await cluster.db.sql<{ id: string }>(
        'SELECT id FROM sessions WHERE id = ANY($1::uuid[])',
        [[sid(ended), sid(expired)]],
      );
      return rows.length === 0;
    });
    expect(await cluster.db.sql('SELECT id FROM sessions WHERE id = $1', [sid(live)])).toHaveLength(1);
    expect(
      (await api(gw[0], 'POST', '/api/auth/refresh', { body: { refresh: expired.tokens.refresh } })).status,
    ).toBe(401);
    expect(
      (await api(gw[0], 'POST', '/api/auth/refresh', { body: { refresh: live.tokens.refresh } })).status,
    ).toBe(200);
  });
});
