import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/** Which hops of `X-Forwarded-For` to believe: none, all, the nearest N, or those from the listed proxies. */
export type TrustProxy = boolean | number | string[];

/** A TRUST_PROXY value: `false`, `true`, a hop count, or a comma-separated list for proxy-addr; undefined if bad. */
export function parseTrustProxy(raw: string): TrustProxy | undefined {
  const value = raw.trim();
  if (value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    proxyaddr.compile(list); // throws on anything that is not an address, a CIDR or a named range
    return list;
  } catch {
    return undefined;
  }
}

/** The trust function Express and proxy-addr take (Express's own `compileTrust`, for all three forms). */
export function trustFunction(trust: TrustProxy): (address: string, hop: number) => boolean {
  if (typeof trust === 'boolean') return () => trust;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return proxyaddr.compile(trust);
}

/**
 * The client's address of a raw request, as Express's `req.ip` computes it with the same trust: the socket's
 * peer, or the nearest untrusted hop of `X-Forwarded-For` when the peer is a trusted proxy.
 */
export function clientAddress(
  req: IncomingMessage,
  trust: (address: string, hop: number) => boolean,
): string {
  try {
    return proxyaddr(req, trust);
  } catch {
    return req.socket.remoteAddress ?? 'unknown';
  }
}
