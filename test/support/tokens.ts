import { createHmac } from 'node:crypto';
import { TEST_JWT_SECRET } from './cluster.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An HS256 JWT with exactly these claims (the test cluster's secret by default): for tokens the API never issues. */
export function signHs256(claims: object, secret = TEST_JWT_SECRET, header: object = {}): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT', ...header })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** The claims of a JWT (not verified). */
export function claimsOf<T = Record<string, unknown>>(token: string): T {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as T;
}

/** An access token of `token`'s user and session that expires `seconds` from now. */
export function shortLivedAccess(token: string, seconds: number): string {
  const { sub, sid } = claimsOf<{ sub: string; sid: string }>(token);
  return signHs256({ sub, sid, typ: 'access', exp: Math.floor(Date.now() / 1000) + seconds });
}
