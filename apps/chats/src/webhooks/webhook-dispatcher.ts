import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { WebhookEventBody, WebhookEventType } from '@parley/contracts';
import { SpanKind } from '@opentelemetry/api';
import { injectTraceHeaders, inSpan, METRICS_REGISTRY } from '@parley/observability';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CHATS_CONFIG, type ChatsConfig } from '../config/chats.config.js';
import { Db } from '../database/db.service.js';
import { WebhookHttp } from './webhook-http.js';
import { signatureHeaders } from './webhook-signature.js';

/** A delivery claimed for one attempt. */
interface Claimed {
  id: string;
  attempts: number;
  /** When the delivery was first due: its retries run out WEBHOOK_RETRY_FOR_MS after. */
  created_at: Date;
  event_id: string;
  type: WebhookEventType;
  event_created_at: Date;
  data: unknown;
  endpoint_id: number;
  url: string;
  secret: string;
}

/** Events purged per statement (delivered ones, past WEBHOOK_RETENTION_MS). */
const PURGE_BATCH = 1000;
const PURGE_INTERVAL_MS = 60_000;
/** The longest error text kept with a delivery. */
const ERROR_MAX = 300;
/**
 * Deliveries that succeeded are deleted together, this often: one statement for all of them. (A crash before the
 * delete redelivers them: at least once.) A slot that comes free is refilled after as long, so claims gather too.
 */
const GATHER_MS = 10;

/**
 * Delivers the webhook outbox (see the migration Webhooks1765000000000): every chats instance with
 * WEBHOOK_DELIVERY claims due deliveries with `FOR UPDATE SKIP LOCKED`, so each is attempted by one instance at a
 * time, and POSTs them. A claim is a lease: it moves the delivery's due time past the attempt's timeout, so the
 * delivery of an instance that died comes due again for another (at least once; receivers deduplicate by
 * `webhook-id`). A 2xx deletes the delivery; anything else schedules a retry with exponential backoff and jitter,
 * until WEBHOOK_RETRY_FOR_MS has passed since it was first due, when it moves to webhook_dead_letters.
 *
 * Each endpoint gets at most WEBHOOK_ENDPOINT_CONCURRENCY of the instance's WEBHOOK_CONCURRENCY requests, and the
 * claim picks each endpoint's due deliveries separately: an endpoint that is slow or down holds its own slots,
 * never the others'. Deliveries to one endpoint are not ordered (retries overtake); events carry seq and version.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly inFlight = new Map<number, number>();
  private readonly running = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private pollAgain = false;
  private stopped = false;
  private nextPurge = 0;
  private delivered: string[] = [];
  private readonly http: WebhookHttp;
  private flushing?: Promise<void>;

  private readonly outcomes: Counter<'outcome'>;
  private readonly deadLettered: Counter;
  private readonly duration: Histogram;

  constructor(
    private readonly db: Db,
    @Inject(CHATS_CONFIG) private readonly config: ChatsConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.http = new WebhookHttp(config.webhookEndpointConcurrency);
    this.outcomes = new Counter({
      name: 'parley_webhook_attempts_total',
      help: 'Webhook requests made by this instance: delivered (2xx), failed (retried later) or dead_lettered',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.deadLettered = new Counter({
      name: 'parley_webhook_dead_lettered_total',
      help: 'Webhook deliveries moved to webhook_dead_letters by this instance (their retries ran out)',
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'parley_webhook_request_seconds',
      help: 'Time from a webhook request to its answer (or its timeout)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    const inFlight = () => [...this.inFlight.values()].reduce((a, b) => a + b, 0);
    new Gauge({
      name: 'parley_webhook_in_flight',
      help: 'Webhook requests this instance is waiting on',
      registers: [registry],
      collect() {
        this.set(inFlight());
      },
    });
    new Gauge({
      name: 'parley_webhook_due',
      help: 'Webhook deliveries due now, of all instances (the backlog)',
      registers: [registry],
      collect: async function (this: Gauge) {
        try {
          const [row] = await db.query<{ n: string }>({
            text: `SELECT count(*) AS n FROM webhook_deliveries WHERE next_attempt_at <= now()`,
          });
          this.set(Number(row!.n));
        } catch {
          // Postgres unreachable: keep the last value; readiness reports the outage.
        }
      },
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.webhookDelivery) this.schedule(0);
  }

  /** Stops claiming and waits for the requests in flight (each ends by its timeout). */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.running]);
    await this.flushDelivered();
    this.http.close();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delayMs);
  }

  /** A slot came free: claim again now rather than at the next poll (once the poll running now, if any, ends). */
  private wake(): void {
    if (this.polling) this.pollAgain = true;
    else this.schedule(GATHER_MS);
  }

  private async poll(): Promise<void> {
    this.polling = true;
    let claimed = 0;
    try {
      claimed = this.claimAndStart(await this.claim());
      if (Date.now() >= this.nextPurge) {
        this.nextPurge = Date.now() + PURGE_INTERVAL_MS;
        await this.purge();
      }
    } catch (err) {
      this.logger.warn(`Webhook poll failed: ${(err as Error).message}`);
    }
    this.polling = false;
    // Found work and has room for more: look again at once; else after the interval (or when a request ends).
    const again = this.pollAgain || (claimed > 0 && this.free() > 0);
    this.pollAgain = false;
    this.schedule(again ? 0 : this.config.webhookPollMs);
  }

  private free(): number {
    let busy = 0;
    for (const n of this.inFlight.values()) busy += n;
    return this.config.webhookConcurrency - busy;
  }

  /**
   * Claims up to the free slots, each endpoint's due deliveries oldest first up to its own free slots, and leases
   * them for the attempt.
   */
  private async claim(): Promise<Claimed[]> {
    const free = this.free();
    if (free <= 0) return [];
    const ids = [...this.inFlight.keys()];
    const busy = ids.map((id) => this.inFlight.get(id)!);
    return this.db.query<Claimed>({
      text: `WITH room AS (
               SELECT ep.id, least($3::int - coalesce(b.n, 0), $4::int) AS n
               FROM webhook_endpoints ep
               LEFT JOIN unnest($1::int[], $2::int[]) AS b(id, n) ON b.id = ep.id
               WHERE ep.enabled
             ), picked AS (
               SELECT p.id FROM room
               CROSS JOIN LATERAL (
                 SELECT d.id FROM webhook_deliveries d
                 WHERE d.endpoint_id = room.id AND d.next_attempt_at <= now()
                 ORDER BY d.next_attempt_at LIMIT greatest(room.n, 0)
                 FOR UPDATE SKIP LOCKED
               ) p
               LIMIT $4
             )
             UPDATE webhook_deliveries d
             SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $5::float8 / 1000)
             FROM picked, webhook_events v, webhook_endpoints ep
             WHERE d.id = picked.id AND v.id = d.event_id AND ep.id = d.endpoint_id
             RETURNING d.id, d.attempts, d.created_at, v.event_id, v.type, v.created_at AS event_created_at,
                       v.data, ep.id AS endpoint_id, ep.url, ep.secret`,
      values: [ids, busy, this.config.webhookEndpointConcurrency, free, this.leaseMs()],
    });
  }

  /** The attempt's timeout, and time to record its outcome. */
  private leaseMs(): number {
    return this.config.webhookTimeoutMs * 2 + 1000;
  }

  private claimAndStart(claimed: Claimed[]): number {
    for (const delivery of claimed) {
      this.inFlight.set(delivery.endpoint_id, (this.inFlight.get(delivery.endpoint_id) ?? 0) + 1);
      const run = this.attempt(delivery).finally(() => {
        this.running.delete(run);
        const left = this.inFlight.get(delivery.endpoint_id)! - 1;
        if (left > 0) this.inFlight.set(delivery.endpoint_id, left);
        else this.inFlight.delete(delivery.endpoint_id);
        this.wake();
      });
      this.running.add(run);
    }
    return claimed.length;
  }

  private async attempt(delivery: Claimed): Promise<void> {
    const error = await this.post(delivery);
    try {
      if (error === null) {
        this.outcomes.inc({ outcome: 'delivered' });
        await this.recordDelivered(delivery.id);
      } else if (Date.now() - delivery.created_at.getTime() >= this.config.webhookRetryForMs) {
        await this.deadLetter(delivery, error);
        this.outcomes.inc({ outcome: 'dead_lettered' });
        this.deadLettered.inc();
      } else {
        await this.db.query({
          text: `UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $2::float8 / 1000),
                   last_error = $3 WHERE id = $1`,
          values: [delivery.id, this.backoffMs(delivery.attempts), error],
        });
        this.outcomes.inc({ outcome: 'failed' });
      }
    } catch (err) {
      // The lease runs out and the delivery is attempted again: at least once.
      this.logger.warn(`Could not record a webhook attempt: ${(err as Error).message}`);
    }
  }

  /** Deletes the delivery with the others delivered within GATHER_MS (one statement). */
  private recordDelivered(id: string): Promise<void> {
    this.delivered.push(id);
    this.flushing ??= new Promise<void>((resolve) => setTimeout(resolve, GATHER_MS)).then(() => {
      this.flushing = undefined;
      return this.flushDelivered();
    });
    return this.flushing;
  }

  private async flushDelivered(): Promise<void> {
    const ids = this.delivered;
    this.delivered = [];
    if (ids.length === 0) return;
    await this.db.query({
      text: `DELETE FROM webhook_deliveries WHERE id = ANY($1::bigint[])`,
      values: [ids],
    });
  }

  /**
   * One request, in a span of its own (the delivery is a trace of its own: it runs after the change's trace ended,
   * maybe on another instance, maybe hours later), whose context the request carries; null when the endpoint
   * answered 2xx, else what went wrong.
   */
  private post(delivery: Claimed): Promise<string | null> {
    return inSpan(`webhook ${delivery.type}`, () => this.request(delivery), {
      kind: SpanKind.CLIENT,
      attributes: {
        'parley.webhook.event_id': delivery.event_id,
        'parley.webhook.endpoint_id': delivery.endpoint_id,
        'parley.webhook.attempt': delivery.attempts,
      },
    });
  }

  private async request(delivery: Claimed): Promise<string | null> {
    const event: WebhookEventBody = {
      id: delivery.event_id,
      type: delivery.type,
      created_at: delivery.event_created_at.toISOString(),
      data: delivery.data,
    };
    const body = JSON.stringify(event);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Parley-Webhooks/1',
      ...signatureHeaders(delivery.secret, delivery.event_id, Math.floor(Date.now() / 1000), body),
    };
    injectTraceHeaders(headers);
    const stopTimer = this.duration.startTimer();
    try {
      const status = await this.http.post(delivery.url, headers, body, this.config.webhookTimeoutMs);
      return status >= 200 && status < 300 ? null : `HTTP ${status}`;
    } catch (err) {
      const e = err as Error & { code?: string };
      return (e.code ?? e.message).slice(0, ERROR_MAX);
    } finally {
      stopTimer();
    }
  }

  /** The wait before attempt `attempts + 1`: base × 2^(attempts − 1), capped, and a random half of it off. */
  private backoffMs(attempts: number): number {
    const { webhookRetryBaseMs: base, webhookRetryMaxMs: max } = this.config;
    const exp = Math.min(max, base * 2 ** Math.min(attempts - 1, 30));
    return exp / 2 + Math.random() * (exp / 2);
  }

  private async deadLetter(delivery: Claimed, error: string): Promise<void> {
    await this.db.query({
      text: `WITH moved AS (DELETE FROM webhook_deliveries WHERE id = $1 RETURNING event_id, endpoint_id, attempts, created_at)
             INSERT INTO webhook_dead_letters (event_id, endpoint_id, attempts, last_error, created_at)
             SELECT event_id, endpoint_id, attempts, $2, created_at FROM moved`,
      values: [delivery.id, error],
    });
    this.logger.warn(
      `Webhook event ${delivery.event_id} dead-lettered for endpoint ${delivery.endpoint_id} after ${delivery.attempts} attempts: ${error}`,
    );
  }

  /** Deletes delivered events past WEBHOOK_RETENTION_MS (those still pending or dead-lettered stay). */
  private async purge(): Promise<void> {
    for (;;) {
      const rows = await this.db.query({
        text: `DELETE FROM webhook_events WHERE id IN (
                 SELECT v.id FROM webhook_events v
                 WHERE v.created_at < now() - make_interval(secs => $1::float8 / 1000)
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = v.id)
                   AND NOT EXISTS (SELECT 1 FROM webhook_dead_letters l WHERE l.event_id = v.id)
                 LIMIT $2)
               RETURNING id`,
        values: [this.config.webhookRetentionMs, PURGE_BATCH],
      });
      if (rows.length < PURGE_BATCH) return;
    }
  }
}
