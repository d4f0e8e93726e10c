import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, parseTrustProxy, trustFunction } from './client-address.js';

const request = (peer: string, forwardedFor?: string) =>
  ({
    socket: { remoteAddress: peer },
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  }) as unknown as IncomingMessage;

describe('TRUST_PROXY', () => {
  it('parses off, on, hop counts and proxy lists, and refuses anything else', () => {
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('1')).toBe(1);
    expect(parseTrustProxy('loopback, 10.0.0.0/8')).toEqual(['loopback', '10.0.0.0/8']);
    expect(parseTrustProxy('not-an-address')).toBeUndefined();
    expect(parseTrustProxy('10.0.0.0/99')).toBeUndefined();
  });

  it('believes X-Forwarded-For only through a trusted proxy', () => {
    const spoofed = request('203.0.113.9', '198.51.100.1');
    expect(clientAddress(spoofed, trustFunction(false))).toBe('203.0.113.9');
    expect(clientAddress(spoofed, trustFunction(['loopback']))).toBe('203.0.113.9');
    const viaProxy = request('127.0.0.1', '198.51.100.1');
    expect(clientAddress(viaProxy, trustFunction(['loopback']))).toBe('198.51.100.1');
    expect(clientAddress(viaProxy, trustFunction(false))).toBe('127.0.0.1');
    // One hop: the nearest address before the proxy, not one a client wrote further left.
    expect(clientAddress(request('127.0.0.1', '6.6.6.6, 198.51.100.1'), trustFunction(1))).toBe(
      '198.51.100.1',
    );
  });
});
