import { createHmac, generateKeyPairSync } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { ConfigError } from '@parley/config';
import { describe, expect, it } from 'vitest';
import { AppError } from '../common/app.error.js';
import { loadGatewayConfig, PLACEHOLDER_JWT_SECRETS } from '../config/gateway.config.js';
import { TokenService } from './token.service.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const hs256 = (payload: object, secret: string | Buffer, header: object = {}) => {
  const head = `${b64({ alg: 'HS256', typ: 'JWT', ...header })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
};
const now = () => Math.floor(Date.now() / 1000);
const SECRET = 'a-test-secret-of-some-length';
const SID = '5d2c1f3e-8a41-4b7e-9c0d-1e2f3a4b5c6d';
const JTI = '0b7c8a5e-6a51-4c57-9d0e-2f6f1e0c8a11';
const unauthorized = (fn: () => unknown) => expect(fn).toThrow(AppError);

function rsaPair() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pub: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    priv: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

describe('TokenService', () => {
  it('HS256: issues and verifies access and refresh tokens of a session, and keeps them apart', () => {
    const tokens = new TokenService(loadGatewayConfig({ JWT_SECRET: SECRET }));
    const access = tokens.signAccess(42, SID);
    expect(tokens.verifyAccess(access)).toMatchObject({ userId: 42, sessionId: SID });
    expect(tokens.verifyAccess(access).expiresAt).toBeGreaterThan(Date.now() + 890_000);
    expect(tokens.verifyRefresh(tokens.signRefresh(42, SID, JTI))).toEqual({
      userId: 42,
      sessionId: SID,
      jti: JTI,
    });
    unauthorized(() => tokens.verifyAccess(tokens.signRefresh(42, SID, JTI)));
    unauthorized(() => tokens.verifyRefresh(access));
  });

  it('refuses tokens without exp, and allows the configured clock skew', () => {
    const tokens = new TokenService(
      loadGatewayConfig({ JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE_SECONDS: '30' }),
    );
    unauthorized(() => tokens.verifyAccess(hs256({ sub: '1', typ: 'access' }, SECRET)));
    expect(tokens.verifyAccess(hs256({ sub: '1', typ: 'access', exp: now() - 10 }, SECRET)).userId).toBe(1);
    unauthorized(() => tokens.verifyAccess(hs256({ sub: '1', typ: 'access', exp: now() - 60 }, SECRET)));
  });

  it('verifies tokens of the previous secret after a rotation, and signs only with the new one', () => {
    const before = new TokenService(loadGatewayConfig({ JWT_SECRET: SECRET }));
    const old = before.signAccess(5, SID);
    const after = new TokenService(
      loadGatewayConfig({ JWT_SECRET: 'the-new-secret-after-rotation', JWT_SECRET_PREVIOUS: SECRET }),
    );
    expect(after.verifyAccess(old).userId).toBe(5);
    const fresh = after.signAccess(5, SID);
    unauthorized(() => before.verifyAccess(fresh));
    // The kid names the key: a token claiming the new key's kid but signed with the old secret is refused.
    const kid = JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid as string;
    expect(kid).toMatch(/^[\w-]{16}$/);
    expect(fresh).not.toContain(SECRET);
    const retired = new TokenService(loadGatewayConfig({ JWT_SECRET: 'the-new-secret-after-rotation' }));
    unauthorized(() => retired.verifyAccess(old));
  });

  it('RS256: verifies with the public key, signs with the private key, and refuses HS256 tokens keyed with the public key', () => {
    const { pub, priv } = rsaPair();
    const idpEnv = { JWT_PUBLIC_KEY: pub, JWT_ISSUER: 'https://idp.example', JWT_AUDIENCE: 'parley' };
    // PEM in an environment variable often arrives with its newlines escaped.
    const tokens = new TokenService(
      loadGatewayConfig({ ...idpEnv, JWT_PUBLIC_KEY: pub.replace(/\n/g, '\\n'), JWT_PRIVATE_KEY: priv }),
    );
    const token = tokens.signAccess(7, SID);
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toMatchObject({
      alg: 'RS256',
    });
    expect(tokens.verifyAccess(token).userId).toBe(7);
    // Key confusion: an attacker signs HS256 with the (public) key as the HMAC secret.
    unauthorized(() =>
      tokens.verifyAccess(
        hs256({ sub: '7', typ: 'access', exp: now() + 60, iss: idpEnv.JWT_ISSUER, aud: 'parley' }, pub),
      ),
    );
    // A token from an identity provider (no typ, no sid, a kid of its own) is an access token of no session.
    const idp = new TokenService(loadGatewayConfig(idpEnv));
    const fromIdp = new JwtService().sign(
      { sub: '9' },
      {
        algorithm: 'RS256',
        privateKey: priv,
        expiresIn: 60,
        keyid: 'idp-key-1',
        issuer: idpEnv.JWT_ISSUER,
        audience: 'parley',
      },
    );
    expect(idp.verifyAccess(fromIdp)).toMatchObject({ userId: 9 });
    expect(idp.verifyAccess(fromIdp).sessionId).toBeUndefined();
    expect(idp.canIssue).toBe(false);
    expect(() => idp.signAccess(9, SID)).toThrow(/does not issue tokens/);
  });

  it('checks issuer and audience when configured', () => {
    const env = { JWT_SECRET: SECRET, JWT_ISSUER: 'parley', JWT_AUDIENCE: 'chat' };
    const tokens = new TokenService(loadGatewayConfig(env));
    expect(tokens.verifyAccess(tokens.signAccess(3, SID)).userId).toBe(3);
    const foreign = hs256(
      { sub: '3', typ: 'access', exp: now() + 60, iss: 'someone-else', aud: 'chat' },
      SECRET,
    );
    unauthorized(() => tokens.verifyAccess(foreign));
  });
});

describe('gateway configuration of tokens', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadGatewayConfig(env);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };

  it('requires JWT_ISSUER and JWT_AUDIENCE with JWT_PUBLIC_KEY', () => {
    const { pub } = rsaPair();
    expect(problems({ JWT_PUBLIC_KEY: pub })).toEqual([
      expect.stringMatching(/^JWT_ISSUER is required when JWT_PUBLIC_KEY is set/),
      expect.stringMatching(/^JWT_AUDIENCE is required when JWT_PUBLIC_KEY is set/),
    ]);
    expect(problems({ JWT_PUBLIC_KEY: pub, JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' })).toEqual([]);
  });

  it('refuses, with NODE_ENV=production, the placeholder secrets, short secrets and AUTH_MODE=insecure-user-id', () => {
    const production = { NODE_ENV: 'production' };
    expect(problems({ ...production })).toEqual([expect.stringMatching(/^JWT_SECRET is a placeholder/)]);
    for (const placeholder of PLACEHOLDER_JWT_SECRETS) {
      expect(problems({ ...production, JWT_SECRET: placeholder })).toEqual([
        expect.stringMatching(/^JWT_SECRET is a placeholder/),
      ]);
    }
    expect(problems({ ...production, JWT_SECRET: 'x'.repeat(31) })).toEqual([
      'JWT_SECRET must be at least 32 bytes with NODE_ENV=production',
    ]);
    expect(problems({ ...production, JWT_SECRET: 'x'.repeat(32), AUTH_MODE: 'insecure-user-id' })).toEqual([
      expect.stringMatching(/^AUTH_MODE=insecure-user-id is refused/),
    ]);
    expect(
      problems({ ...production, JWT_SECRET: 'x'.repeat(32), JWT_SECRET_PREVIOUS: 'short-but-16-chars' }),
    ).toEqual(['JWT_SECRET_PREVIOUS must be at least 32 bytes with NODE_ENV=production']);
    expect(problems({ ...production, JWT_SECRET: 'x'.repeat(32) })).toEqual([]);
    // Outside production the development defaults boot (with a warning).
    expect(problems({})).toEqual([]);
    expect(problems({ AUTH_MODE: 'insecure-user-id' })).toEqual([]);
  });
});
