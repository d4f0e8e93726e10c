import { createHmac, generateKeyPairSync } from 'node:crypto';
import { UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../config/gateway.config.js';
import { TokenService } from './token.service.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const hs256 = (payload: object, secret: string | Buffer) => {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
};
const exp = () => Math.floor(Date.now() / 1000) + 60;

describe('TokenService', () => {
  it('HS256: issues and verifies access and refresh tokens, and keeps them apart', () => {
    const tokens = new TokenService(loadGatewayConfig({ JWT_SECRET: 'a-test-secret-of-some-length' }));
    expect(tokens.verifyAccess(tokens.signAccess(42))).toBe(42);
    const jti = '0b7c8a5e-6a51-4c57-9d0e-2f6f1e0c8a11';
    expect(tokens.verifyRefresh(tokens.signRefresh(42, jti))).toEqual({ userId: 42, jti });
    expect(() => tokens.verifyAccess(tokens.signRefresh(42, jti))).toThrow(UnauthorizedException);
    expect(() => tokens.verifyRefresh(tokens.signAccess(42))).toThrow(UnauthorizedException);
  });

  it('RS256: verifies with the public key, signs with the private key, and refuses HS256 tokens keyed with the public key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // PEM in an environment variable often arrives with its newlines escaped.
    const tokens = new TokenService(
      loadGatewayConfig({ JWT_PUBLIC_KEY: pub.replace(/\n/g, '\\n'), JWT_PRIVATE_KEY: priv }),
    );
    const token = tokens.signAccess(7);
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toMatchObject({
      alg: 'RS256',
    });
    expect(tokens.verifyAccess(token)).toBe(7);
    // Key confusion: an attacker signs HS256 with the (public) key as the HMAC secret.
    expect(() => tokens.verifyAccess(hs256({ sub: '7', typ: 'access', exp: exp() }, pub))).toThrow(
      UnauthorizedException,
    );
    // A token from an identity provider (no typ claim) is an access token.
    const idp = new TokenService(loadGatewayConfig({ JWT_PUBLIC_KEY: pub }));
    const fromIdp = new JwtService().sign(
      { sub: '9' },
      { algorithm: 'RS256', privateKey: priv, expiresIn: 60 },
    );
    expect(idp.verifyAccess(fromIdp)).toBe(9);
    expect(idp.canIssue).toBe(false);
    expect(() => idp.signAccess(9)).toThrow(/does not issue tokens/);
  });

  it('checks issuer and audience when configured', () => {
    const env = { JWT_SECRET: 'a-test-secret-of-some-length', JWT_ISSUER: 'parley', JWT_AUDIENCE: 'chat' };
    const tokens = new TokenService(loadGatewayConfig(env));
    expect(tokens.verifyAccess(tokens.signAccess(3))).toBe(3);
    const foreign = hs256(
      { sub: '3', typ: 'access', exp: exp(), iss: 'someone-else', aud: 'chat' },
      env.JWT_SECRET,
    );
    expect(() => tokens.verifyAccess(foreign)).toThrow(UnauthorizedException);
  });
});
