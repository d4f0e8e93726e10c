import { Injectable } from '@nestjs/common';
import {
  ErrorCode,
  ErrorMessages,
  webhookLimits,
  type Id,
  type RpcRequest,
  type RpcResponse,
  type WebhookDeadLetter,
  type WebhookEndpoint,
  type WebhookEventType,
} from '@parley/contracts';
import { DomainError, Errors } from '../common/domain.error.js';
import { Db } from '../database/db.service.js';
import { newWebhookSecret } from './webhook-signature.js';

interface EndpointRow {
  id: number;
  url: string;
  secret: string;
  events: WebhookEventType[];
  description: string | null;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  pending: string;
  dead: string;
}

/** An endpoint with its backlog: deliveries pending, and dead letters. */
const ENDPOINT_COLUMNS = `e.id, e.url, e.secret, e.events, e.description, e.enabled, e.created_at, e.updated_at,
  (SELECT count(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id) AS pending,
  (SELECT count(*) FROM webhook_dead_letters l WHERE l.endpoint_id = e.id) AS dead`;

function toEndpoint(row: EndpointRow, withSecret = false): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    pending: Number(row.pending),
    dead: Number(row.dead),
    ...(withSecret ? { secret: row.secret } : {}),
  };
}

const notFound = () => new DomainError(ErrorCode.WebhookNotFound, 404, ErrorMessages.webhookNotFound);

/**
 * The webhook endpoints operators register through the admin API. An endpoint receives the events of the types it
 * subscribes to from the moment it is created (the outbox triggers read this table in each change's transaction);
 * WebhookDispatcher delivers them. Its secret is shown when it is created or rotated, never listed.
 */
@Injectable()
export class WebhooksService {
  constructor(private readonly db: Db) {}

  create(req: RpcRequest<'webhooks.create'>): Promise<WebhookEndpoint> {
    return this.db.transaction(async (tx) => {
      // One registration at a time, so the limit holds however many arrive at once.
      await tx.query({ text: `SELECT pg_advisory_xact_lock(hashtext('parley:webhook_endpoints'))` });
      const [count] = await tx.query<{ n: string }>({ text: `SELECT count(*) AS n FROM webhook_endpoints` });
      if (Number(count!.n) >= webhookLimits.endpointsMax) {
        throw Errors.validation(ErrorMessages.webhookLimit);
      }
      const [row] = await tx.query<EndpointRow>({
        text: `INSERT INTO webhook_endpoints AS e (url, secret, events, description, enabled)
               VALUES ($1, $2, $3, $4, $5) RETURNING ${ENDPOINT_COLUMNS}`,
        values: [req.url, newWebhookSecret(), req.events, req.description, req.enabled],
      });
      return toEndpoint(row!, true);
    });
  }

  async list(): Promise<RpcResponse<'webhooks.list'>> {
    const rows = await this.db.query<EndpointRow>({
      text: `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints e ORDER BY e.id`,
    });
    return { endpoints: rows.map((r) => toEndpoint(r)) };
  }

  async get(id: Id): Promise<WebhookEndpoint> {
    const [row] = await this.db.query<EndpointRow>({
      text: `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.id = $1`,
      values: [id],
    });
    if (!row) throw notFound();
    return toEndpoint(row);
  }

  async update(req: RpcRequest<'webhooks.update'>): Promise<WebhookEndpoint> {
    const [row] = await this.db.query<EndpointRow>({
      text: `UPDATE webhook_endpoints e SET
               url = coalesce($2, e.url), events = coalesce($3, e.events),
               description = CASE WHEN $4 THEN $5 ELSE e.description END,
               enabled = coalesce($6, e.enabled), updated_at = now()
             WHERE e.id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
      values: [
        req.id,
        req.url ?? null,
        req.events ?? null,
        req.description !== undefined,
        req.description ?? null,
        req.enabled ?? null,
      ],
    });
    if (!row) throw notFound();
    return toEndpoint(row);
  }

  /** Deletes the endpoint with its pending deliveries and dead letters. */
  async delete(id: Id): Promise<RpcResponse<'webhooks.delete'>> {
    const rows = await this.db.query({
      text: `DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id`,
      values: [id],
    });
    if (rows.length === 0) throw notFound();
    return { deleted: true };
  }

  async rotateSecret(id: Id): Promise<WebhookEndpoint> {
    const [row] = await this.db.query<EndpointRow>({
      text: `UPDATE webhook_endpoints e SET secret = $2, updated_at = now() WHERE e.id = $1
             RETURNING ${ENDPOINT_COLUMNS}`,
      values: [id, newWebhookSecret()],
    });
    if (!row) throw notFound();
    return toEndpoint(row, true);
  }

  async deadLetters(req: RpcRequest<'webhooks.dead-letters'>): Promise<RpcResponse<'webhooks.dead-letters'>> {
    await this.get(req.id);
    const rows = await this.db.query<{
      id: string;
      event_id: string;
      type: WebhookEventType;
      attempts: number;
      last_error: string | null;
      created_at: Date;
      dead_at: Date;
    }>({
      text: `SELECT l.id, v.event_id, v.type, l.attempts, l.last_error, l.created_at, l.dead_at
             FROM webhook_dead_letters l JOIN webhook_events v ON v.id = l.event_id
             WHERE l.endpoint_id = $1 AND ($2::bigint IS NULL OR l.id < $2)
             ORDER BY l.id DESC LIMIT $3`,
      values: [req.id, req.before_id, req.limit],
    });
    return {
      dead_letters: rows.map((r): WebhookDeadLetter => ({
        id: Number(r.id),
        event_id: r.event_id,
        type: r.type,
        attempts: r.attempts,
        last_error: r.last_error,
        created_at: r.created_at.toISOString(),
        dead_at: r.dead_at.toISOString(),
      })),
    };
  }

  /** Moves the endpoint's dead letters back to its deliveries, due now, with their retry time starting over. */
  async replay(id: Id): Promise<RpcResponse<'webhooks.replay'>> {
    await this.get(id);
    const rows = await this.db.query({
      text: `WITH moved AS (DELETE FROM webhook_dead_letters WHERE endpoint_id = $1 RETURNING event_id, endpoint_id)
             INSERT INTO webhook_deliveries (event_id, endpoint_id) SELECT event_id, endpoint_id FROM moved
             RETURNING id`,
      values: [id],
    });
    return { replayed: rows.length };
  }
}
