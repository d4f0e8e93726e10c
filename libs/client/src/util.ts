/** Helpers that work the same in browsers and Node (≥ 20). */

/** A v4 UUID: `crypto.randomUUID` where it exists (it needs a secure context in browsers), else from getRandomValues. */
export function uuid(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface JwtClaims {
  sub?: string | number;
  /** Expiry, seconds since the epoch. */
  exp?: number;
  [claim: string]: unknown;
}

/** The claims of a JWT, unverified (the server verifies; the client only reads `sub` and `exp`). */
export function decodeJwt(token: string): JwtClaims | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
    const claims: unknown = JSON.parse(json);
    return typeof claims === 'object' && claims !== null ? (claims as JwtClaims) : undefined;
  } catch {
    return undefined;
  }
}

/** The user id a Parley access token was issued for (its `sub`), if it has one. */
export function tokenUserId(token: string): number | undefined {
  const sub = decodeJwt(token)?.sub;
  const id = typeof sub === 'string' ? Number(sub) : sub;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** When a JWT expires (ms since the epoch), if it says. `exp` may have a fraction (RFC 7519 NumericDate). */
export function tokenExpiresAt(token: string): number | undefined {
  const exp = decodeJwt(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}

export type Timer = ReturnType<typeof setTimeout>;

/** A sleep that `cancel()` ends early (resolving `false`). */
export function cancellableSleep(ms: number): { done: Promise<boolean>; cancel: () => void } {
  let timer: Timer | undefined;
  let finish: (completed: boolean) => void = () => undefined;
  const done = new Promise<boolean>((resolve) => {
    finish = resolve;
    timer = setTimeout(() => resolve(true), ms);
  });
  return {
    done,
    cancel: () => {
      clearTimeout(timer);
      finish(false);
    },
  };
}
