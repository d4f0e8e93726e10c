import { isPrivateAddress } from '@parley/contracts';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import webpush from 'web-push';

/** A stored subscription, as the sender needs it. */
export interface PushTarget {
  id: number;
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface PushOptions {
  /** RFC 8030 `Topic`: the push service keeps only the latest undelivered notification of a topic. */
  topic: string;
  ttlSeconds: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
}

/**
 * `sent`: the push service took it (2xx); `expired`: 404 or 410, the subscription is gone; `rejected`: another
 * 4xx (bad VAPID, payload, rate limit); `failed`: 5xx, network error or timeout; `refused`: the endpoint resolves to a
 * loopback or private address (SSRF).
 */
export type PushOutcome = 'sent' | 'expired' | 'rejected' | 'failed' | 'refused';

export interface WebPushSenderOptions {
  vapid: { subject: string; publicKey: string; privateKey: string };
  timeoutMs: number;
  allowPrivateEndpoints: boolean;
}

class RefusedAddressError extends Error {}

/** The most of a push service's answer read (its body is only ever logged, if at all). */
const RESPONSE_MAX_BYTES = 4096;

/**
 * The push services, behind one class. web-push builds each request (the RFC 8291 encryption, the VAPID JWT and
 * headers); the POST is ours, so that the connection can be refused by the address the endpoint's name resolves to
 * (a client-supplied URL must not reach inside the network: checked again here, not only at registration), so the
 * answer read is bounded, and so that PUSH_ALLOW_PRIVATE_ENDPOINTS can also allow plain http (web-push itself only
 * speaks https).
 */
export class WebPushSender {
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(private readonly options: WebPushSenderOptions) {
    const lookup: LookupFunction = this.lookup.bind(this);
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: 64, lookup }),
      https: new https.Agent({ keepAlive: true, maxSockets: 64, lookup }),
    };
  }

  async send(target: PushTarget, payload: string, opts: PushOptions): Promise<PushOutcome> {
    const url = new URL(target.endpoint);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // An IP literal is connected to without a lookup: judge it here.
    if (!this.options.allowPrivateEndpoints && (isIP(host) !== 0 ? isPrivateAddress(host) : false)) {
      return 'refused';
    }
    if (url.protocol !== 'https:' && !(this.options.allowPrivateEndpoints && url.protocol === 'http:')) {
      return 'refused';
    }
    const details = webpush.generateRequestDetails(
      { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
      payload,
      {
        vapidDetails: this.options.vapid,
        TTL: opts.ttlSeconds,
        topic: opts.topic,
        urgency: opts.urgency,
        contentEncoding: 'aes128gcm',
      },
    );
    try {
      const status = await this.post(url, details.headers, details.body);
      if (status >= 200 && status < 300) return 'sent';
      if (status === 404 || status === 410) return 'expired';
      return status >= 400 && status < 500 ? 'rejected' : 'failed';
    } catch (err) {
      return err instanceof RefusedAddressError ? 'refused' : 'failed';
    }
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private post(url: URL, headers: Record<string, string | number>, body: Buffer): Promise<number> {
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(
        url,
        {
          method: 'POST',
          headers,
          agent: secure ? this.agents.https : this.agents.http,
          timeout: this.options.timeoutMs,
        },
        (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > RESPONSE_MAX_BYTES) res.destroy();
          });
          res.on('close', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy(new Error('push service timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** dns.lookup, refusing names that resolve to a loopback or private address (unless allowed). */
  private lookup(
    hostname: string,
    options: LookupOptions,
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const allowed = this.options.allowPrivateEndpoints
        ? addresses
        : addresses.filter((a) => !isPrivateAddress(a.address));
      if (allowed.length === 0) {
        return callback(new RefusedAddressError(`${hostname} resolves to a private address`), []);
      }
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  }
}
