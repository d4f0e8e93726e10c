import { createECDH } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { Id } from '../wire/models.js';

/** Web Push limits of the contract (the deployment's PUSH_* settings work inside them). */
export const PushLimits = {
  /** Longest endpoint URL accepted (the push services' are far shorter). */
  endpointMaxLength: 2048,
  /** A P-256 public key, uncompressed (65 bytes), in base64url: 87 characters, 88 with padding. */
  p256dhMaxLength: 88,
  /** 16 bytes in base64url: 22 characters, 24 with padding. */
  authMaxLength: 24,
  userAgentMaxLength: 256,
  /** The most a deployment may allow per user (PUSH_MAX_SUBSCRIPTIONS_PER_USER). */
  subscriptionsPerUserMax: 100,
} as const;

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** Decodes base64url (padding optional); undefined for anything else. */
export function decodeBase64Url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined;
  return Buffer.from(text.replace(/=+$/, ''), 'base64url');
}

/**
 * A subscription's `p256dh`: an uncompressed P-256 point (0x04 || x || y, 65 bytes) that lies on the curve (an
 * ECDH with it succeeds), so the encryption of every later notification can work.
 */
export function isP256PublicKey(text: string): boolean {
  const key = decodeBase64Url(text);
  if (key?.length !== 65 || key[0] !== 0x04) return false;
  try {
    const probe = createECDH('prime256v1');
    probe.generateKeys();
    probe.computeSecret(key);
    return true;
  } catch {
    return false;
  }
}

/** A subscription's `auth`: the 16-byte authentication secret of RFC 8291. */
export function isPushAuthSecret(text: string): boolean {
  return decodeBase64Url(text)?.length === 16;
}

const PRIVATE_RANGES = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE_RANGES.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
] as const) {
  PRIVATE_RANGES.addSubnet(net, prefix, 'ipv6');
}

/**
 * Whether an IP address is loopback, private, link-local (cloud metadata), shared, multicast or otherwise not a
 * public internet host. IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address they carry.
 */
export function isPrivateAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').toLowerCase();
  const family = isIP(ip);
  if (family === 4) return PRIVATE_RANGES.check(ip, 'ipv4');
  if (family !== 6) return true;
  const embedded = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(ip)?.[1];
  if (embedded) return PRIVATE_RANGES.check(embedded, 'ipv4');
  const mapped = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (mapped) {
    const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
    return PRIVATE_RANGES.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  return PRIVATE_RANGES.check(ip, 'ipv6');
}

/**
 * Why the server must not POST to this client-supplied endpoint, or null when it may: https only, no credentials,
 * and no loopback, private or link-local host (SSRF). `allowPrivate` (PUSH_ALLOW_PRIVATE_ENDPOINTS, tests and
 * closed networks) lifts the address rule and allows http. Names are judged again by the address they resolve to
 * when a notification is sent (a public name may point inside).
 */
export function pushEndpointProblem(endpoint: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'endpoint must be an https URL';
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    return 'endpoint must be an https URL';
  }
  if (url.username || url.password) return 'endpoint must not contain credentials';
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const refused =
    isIP(host) !== 0
      ? isPrivateAddress(host)
      : host === 'localhost' || host.endsWith('.localhost') || !host.includes('.');
  if (refused) {
    return 'endpoint must not point to a private or loopback address';
  }
  return null;
}

/** What a notification about a new message carries (JSON, encrypted per RFC 8291), for the service worker. */
export interface PushMessagePayload {
  type: 'message.new';
  conversation_id: Id;
  message_id: Id;
  seq: number;
  sender: { id: Id; username?: string };
  /** The sender's display name (direct) or the group's title and the sender's name. */
  title: string;
  /** A preview of the content, cut so the payload fits PUSH_PAYLOAD_MAX_BYTES. */
  body: string;
}

/**
 * Redis keys more than one app reads or writes (each app adds REDIS_PREFIX). The braces are a Redis Cluster hash
 * tag: every key of one user lands in the same slot.
 */
export const SharedRedisKeys = {
  /** Hash socketId → gateway instance: the user's connected sockets anywhere (written by the gateway). */
  presenceUser: (userId: Id) => `presence:user:{${userId}}`,
} as const;
