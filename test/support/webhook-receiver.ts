import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got, and what it answered. */
export interface WebhookRequest {
  path: string;
  id: string;
  timestamp: number;
  signature: string;
  traceparent?: string;
  body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on the data, whatever it is
  event: { id: string; type: string; created_at: string; data: any };
  /** The status answered; undefined while the request is held open. */
  status?: number;
}

/** What a path answers a request: a status (now or later), or 'hold' (no answer until its client gives up). */
export type Behaviour = (req: WebhookRequest, attempt: number) => number | 'hold' | Promise<number>;

/**
 * A webhook receiver on 127.0.0.1 for tests: each path (one per endpoint registered) answers as its behaviour says
 * (200 by default) and records every request with its raw body.
 */
export class WebhookReceiver {
  readonly requests: WebhookRequest[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly attempts = new Map<string, number>();
  private readonly held = new Set<ServerResponse>();
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Sets what `path` answers from now on. */
  on(path: string, behaviour: Behaviour): void {
    this.behaviours.set(path, behaviour);
  }

  /** The requests to `path` (every attempt). */
  to(path: string): WebhookRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** The requests `path` accepted (answered 2xx), by event id: each event's accepted attempts. */
  accepted(path: string): Map<string, WebhookRequest[]> {
    const byId = new Map<string, WebhookRequest[]>();
    for (const r of this.to(path)) {
      if (r.status === undefined || r.status < 200 || r.status >= 300) continue;
      byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    }
    return byId;
  }

  /** Requests to `path` held open now. */
  heldOpen(path: string): number {
    return this.to(path).filter((r) => r.status === undefined).length;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const record: WebhookRequest = {
      path: req.url ?? '/',
      id: String(req.headers['webhook-id']),
      timestamp: Number(req.headers['webhook-timestamp']),
      signature: String(req.headers['webhook-signature']),
      traceparent: req.headers.traceparent as string | undefined,
      body,
      event: JSON.parse(body),
    };
    this.requests.push(record);
    const key = `${record.path} ${record.id}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const answer = await (this.behaviours.get(record.path) ?? (() => 200))(record, attempt);
    if (answer === 'hold') {
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    record.status = answer;
    res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
  }
}

/**
 * The receiver's check of docs/integrations.md ("Verifying a request"), written from the documentation: the HMAC-SHA256
 * of `<webhook-id>.<webhook-timestamp>.<raw body>` keyed with the secret's base64 after `whsec_`, compared in
 * constant time with each `v1,` signature of the header.
 */
export function verifyWebhook(
  secret: string,
  req: Pick<WebhookRequest, 'id' | 'timestamp' | 'signature' | 'body'>,
) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${req.id}.${req.timestamp}.${req.body}`).digest();
  return req.signature.split(' ').some((part) => {
    const [version, value] = part.split(',');
    const given = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}
