import { describe, expect, it } from 'vitest';
import { decodeJwt, tokenUserId, uuid } from './util.js';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('util', () => {
  it('reads the claims of a JWT (base64url, unpadded, UTF-8)', () => {
    const token = `${b64url({ alg: 'HS256' })}.${b64url({ sub: '42', exp: 1_700_000_000, name: 'Zoë ✓' })}.sig`;
    expect(decodeJwt(token)).toEqual({ sub: '42', exp: 1_700_000_000, name: 'Zoë ✓' });
    expect(tokenUserId(token)).toBe(42);
    expect(decodeJwt('not a token')).toBeUndefined();
    expect(tokenUserId(`x.${b64url({ sub: 'abc' })}.y`)).toBeUndefined();
  });

  it('makes v4 UUIDs, also without crypto.randomUUID', () => {
    expect(uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const original = Object.getOwnPropertyDescriptor(globalThis.crypto, 'randomUUID');
    Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true });
    try {
      const ids = new Set(Array.from({ length: 100 }, uuid));
      expect(ids.size).toBe(100);
      for (const id of ids)
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      if (original) Object.defineProperty(globalThis.crypto, 'randomUUID', original);
      else delete (globalThis.crypto as { randomUUID?: unknown }).randomUUID;
    }
  });
});
