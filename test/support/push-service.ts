import { createDecipheriv, createECDH, createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../tools/lib/wait.js';

/** What a browser hands its server: `PushSubscription.toJSON()`. */
export interface BrowserSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** One POST the stand-in received, verified and decrypted. */
export interface ReceivedPush {
  device: string;
  /** The status the stand-in answered with. */
  status: number;
  headers: IncomingMessage['headers'];
  /** The decrypted payload, parsed as JSON. */
  payload: unknown;
}

interface Device {
  ecdh: ReturnType<typeof createECDH>;
  publicKey: Buffer;
  auth: Buffer;
  status: number;
}

const b64u = (buf: Buffer) => buf.toString('base64url');

/**
 * A push service (RFC 8030) for tests, built from the protocol: each device (a subscription the test makes the way
 * a browser does: its own P-256 key pair and 16-byte auth secret) has an endpoint here. A POST must carry a VAPID
 * authorization (RFC 8292: an ES256 JWT for this origin, expiring within 24 h, with a subject, signed by the key in
 * `k`, which must be `vapidPublicKey`), `TTL` and `Content-Encoding: aes128gcm`; its body is decrypted per RFC 8291
 * and RFC 8188 with the device's private key and auth secret. Anything wrong is recorded in `problems` (and
 * answered 400). Each device answers 201, or what `answer` told it.
 */
export class PushServiceStandIn {
  readonly received: ReceivedPush[] = [];
  readonly problems: string[] = [];
  private readonly devices = new Map<string, Device>();
  private counter = 0;

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    private readonly vapidPublicKey: string,
  ) {}

  static async start(vapidPublicKey: string): Promise<PushServiceStandIn> {
    const holder: { standIn?: PushServiceStandIn } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = holder.standIn!.handle(req, Buffer.concat(chunks));
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.standIn = new PushServiceStandIn(server, `http://127.0.0.1:${port}`, vapidPublicKey);
    return holder.standIn;
  }

  /**
   * A new device's subscription, as a browser would make it (`device`, its name here, is not enumerable: the
   * object serializes as a browser's PushSubscription does).
   */
  subscribe(name = `device-${++this.counter}`): BrowserSubscription & { readonly device: string } {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const device: Device = { ecdh, publicKey: ecdh.getPublicKey(), auth: randomBytes(16), status: 201 };
    this.devices.set(name, device);
    const subscription = {
      endpoint: `${this.origin}/push/${name}`,
      keys: { p256dh: b64u(device.publicKey), auth: b64u(device.auth) },
    };
    return Object.defineProperty(subscription, 'device', {
      value: name,
      enumerable: false,
    }) as typeof subscription & {
      readonly device: string;
    };
  }

  /** From now on the device's endpoint answers `status` (410: the subscription expired). */
  answer(device: string, status: number): void {
    this.devices.get(device)!.status = status;
  }

  for(device: string): ReceivedPush[] {
    return this.received.filter((r) => r.device === device);
  }

  async waitFor(device: string, count = 1, timeoutMs = 10_000): Promise<ReceivedPush[]> {
    await waitFor(
      `${count} push(es) to ${device}`,
      () => this.for(device).length >= count || undefined,
      timeoutMs,
    );
    return this.for(device);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, body: Buffer): number {
    const name = /^\/push\/([^/?]+)$/.exec(req.url ?? '')?.[1];
    const device = name ? this.devices.get(name) : undefined;
    if (req.method !== 'POST' || !name || !device) {
      this.problems.push(`${req.method} ${req.url}: no such subscription`);
      return 404;
    }
    try {
      this.checkHeaders(req);
      const payload: unknown = JSON.parse(decrypt(body, device).toString('utf8'));
      this.received.push({ device: name, status: device.status, headers: req.headers, payload });
      return device.status;
    } catch (err) {
      this.problems.push(`${name}: ${(err as Error).message}`);
      return 400;
    }
  }

  private checkHeaders(req: IncomingMessage): void {
    if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error('Content-Encoding is not aes128gcm');
    if (!/^\d+$/.test(String(req.headers.ttl ?? ''))) throw new Error('TTL header missing');
    const auth = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(req.headers.authorization ?? '');
    if (!auth) throw new Error(`Authorization is not "vapid t=…, k=…": ${req.headers.authorization}`);
    const [, jwt, k] = auth as unknown as [string, string, string];
    if (k !== this.vapidPublicKey) throw new Error('k is not the configured VAPID public key');
    const [header, claims, signature] = jwt.split('.') as [string, string, string];
    const head = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string };
    if (head.alg !== 'ES256') throw new Error(`JWT alg ${head.alg}`);
    const raw = Buffer.from(k, 'base64url');
    const key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33, 65)) },
      format: 'jwk',
    });
    const signed = verify(
      'sha256',
      Buffer.from(`${header}.${claims}`),
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
    );
    if (!signed) throw new Error('JWT signature does not verify with k');
    const c = JSON.parse(Buffer.from(claims, 'base64url').toString()) as {
      aud?: string;
      exp?: number;
      sub?: string;
    };
    if (c.aud !== this.origin) throw new Error(`JWT aud ${c.aud}, not ${this.origin}`);
    const now = Math.floor(Date.now() / 1000);
    if (typeof c.exp !== 'number' || c.exp <= now || c.exp > now + 86_400)
      throw new Error(`JWT exp ${c.exp}`);
    if (!c.sub) throw new Error('JWT has no sub');
  }
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 (Web Push message encryption) over RFC 8188 (aes128gcm), receiving side. */
function decrypt(body: Buffer, device: Device): Buffer {
  // RFC 8188 header: salt (16) | rs (uint32) | idlen (1) | keyid (the sender's ephemeral public key, 65 bytes).
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const senderKey = body.subarray(21, 21 + idlen);
  if (idlen !== 65) throw new Error(`keyid is ${idlen} bytes, not an uncompressed P-256 key`);
  if (rs < 18) throw new Error(`record size ${rs}`);
  // RFC 8291 §3.4: the input keying material from the ECDH secret and the auth secret.
  const ecdhSecret = device.ecdh.computeSecret(senderKey);
  const prkKey = hmac(device.auth, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), device.publicKey, senderKey]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  // RFC 8188 §2.2, §2.3: content-encryption key and nonce.
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01', 'binary')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01', 'binary')).subarray(0, 12);
  const records = body.subarray(21 + idlen);
  const out: Buffer[] = [];
  for (let offset = 0, seq = 0; offset < records.length; offset += rs, seq++) {
    const record = records.subarray(offset, offset + rs);
    const iv = Buffer.from(nonce);
    // NONCE XOR SEQ (a 96-bit big-endian counter): the records of one message never pass 2^32.
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ seq) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', cek, iv);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    // Padding: data | delimiter (2 for the last record, 1 before) | zeros.
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    const last = offset + rs >= records.length;
    if (plain[end] !== (last ? 2 : 1)) throw new Error('bad padding delimiter');
    out.push(plain.subarray(0, end));
  }
  return Buffer.concat(out);
}
