import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  type Id,
  type RpcRequest,
  type RpcResponse,
  type SendMessageResult,
  SharedRedisKeys,
} from '@parley/contracts';
import { METRICS_REGISTRY } from '@parley/observability';
import { createRedisConnection } from '@parley/redis-streams';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Errors } from '../common/domain.error.js';
import { CHATS_CONFIG, pushEnabled, type ChatsConfig } from '../config/chats.config.js';
import { Db } from '../database/db.service.js';
import { pushPayload } from './push-payload.js';
import { WebPushSender, type PushOutcome, type PushTarget } from './web-push.sender.js';

interface RecipientRow extends PushTarget {
  user_id: number;
  sender_username: string;
  sender_display_name: string;
}

interface Job {
  target: PushTarget;
  payload: string;
  topic: string;
}

/**
 * Web Push (docs/integrations.md, "Web Push"): devices register subscriptions; after a message is committed, each member who has no
 * connected socket anywhere, has not muted the conversation and has no block with the sender gets one notification
 * per device, at most one per conversation within PUSH_COLLAPSE_MS. Sending never holds up a send: the hook
 * returns at once and the POSTs go through a bounded queue (full: dropped and counted). Without VAPID keys nothing
 * here runs per message: no query, no Redis connection.
 */
@Injectable()
export class PushService implements OnApplicationShutdown {
  private readonly logger = new Logger('Push');
  private readonly enabled: boolean;
  private readonly redis?: Redis;
  private readonly sender?: WebPushSender;
  private readonly queue: Job[] = [];
  private active = 0;
  private readonly outcomes: Counter<'outcome'>;
  private readonly skipped: Counter<'reason'>;

  constructor(
    private readonly db: Db,
    @Inject(CHATS_CONFIG) private readonly config: ChatsConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.enabled = pushEnabled(config);
    this.outcomes = new Counter({
      name: 'parley_push_sent_total',
      help: 'Web Push notifications by outcome: sent, expired (404/410, subscription removed), rejected (other 4xx), failed (5xx, network, timeout), refused (private address), dropped (queue full)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.skipped = new Counter({
      name: 'parley_push_skipped_total',
      help: 'Recipients with a push subscription not notified: online (a connected socket), collapsed (notified about this conversation within PUSH_COLLAPSE_MS)',
      labelNames: ['reason'],
      registers: [registry],
    });
    const queueLength = () => this.queue.length + this.active;
    new Gauge({
      name: 'parley_push_queue_length',
      help: 'Web Push notifications waiting for a slot (PUSH_QUEUE_MAX) plus those in flight',
      registers: [registry],
      collect: function (this: Gauge) {
        this.set(queueLength());
      },
    });
    if (!this.enabled) return;
    for (const outcome of ['sent', 'expired', 'rejected', 'failed', 'refused', 'dropped']) {
      this.outcomes.inc({ outcome }, 0);
    }
    this.redis = createRedisConnection(config.redisUrl, 'chats:push');
    this.redis.on('error', (err: Error) => this.logger.debug(`push redis: ${err.message}`));
    this.sender = new WebPushSender({
      vapid: {
        subject: config.vapidSubject!,
        publicKey: config.vapidPublicKey!,
        privateKey: config.vapidPrivateKey!,
      },
      timeoutMs: config.pushTimeoutMs,
      allowPrivateEndpoints: config.pushAllowPrivateEndpoints,
    });
  }

  /** Registers (or takes over) a device's subscription, within PUSH_MAX_SUBSCRIPTIONS_PER_USER. */
  async subscribe(req: RpcRequest<'push.subscribe'>): Promise<RpcResponse<'push.subscribe'>> {
    // The endpoint's own row does not count: registering a device again is never refused.
    const rows = await this.db.query<{ id: number; created_at: Date; replaced: boolean }>({
      text: `WITH existing AS (
               SELECT count(*) AS n FROM push_subscriptions WHERE user_id = $1 AND endpoint <> $2
             )
             INSERT INTO push_subscriptions AS s (user_id, endpoint, p256dh, auth, expires_at, user_agent)
             SELECT $1, $2, $3, $4, $5, $6 FROM existing WHERE existing.n < $7
             ON CONFLICT (endpoint) DO UPDATE
               SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth,
                   expires_at = EXCLUDED.expires_at, user_agent = EXCLUDED.user_agent, created_at = now()
             RETURNING s.id, s.created_at, (xmax <> 0) AS replaced`,
      values: [
        req.user_id,
        req.endpoint,
        req.p256dh,
        req.auth,
        req.expires_at,
        req.user_agent,
        this.config.pushMaxSubscriptionsPerUser,
      ],
    });
    const row = rows[0];
    if (!row) throw Errors.tooManyPushSubscriptions();
    return { id: Number(row.id), created_at: row.created_at.toISOString(), replaced: row.replaced };
  }

  async unsubscribe(req: RpcRequest<'push.unsubscribe'>): Promise<RpcResponse<'push.unsubscribe'>> {
    const rows = await this.db.query({
      text: `DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2 RETURNING 1`,
      values: [req.user_id, req.endpoint],
    });
    return { removed: rows.length > 0 };
  }

  /** Called once per committed new message; returns at once (the work runs after the reply). */
  messageStored(result: SendMessageResult): void {
    if (!this.enabled || !result.created) return;
    void this.notify(result).catch((err: Error) =>
      this.logger.warn(`push for message ${result.message.id} failed: ${err.message}`),
    );
  }

  private async notify(result: SendMessageResult): Promise<void> {
    const { message, conversation } = result;
    // One statement: the subscriptions of members who may be notified (not the sender, not muted, no block either
    // way, subscription not past its expirationTime), with the sender's names for the title.
    const rows = await this.db.query<RecipientRow>({
      text: `SELECT s.id, s.user_id, s.endpoint, s.p256dh, s.auth,
                    u.username AS sender_username, u.display_name AS sender_display_name
             FROM conversation_participants p
             JOIN push_subscriptions s ON s.user_id = p.user_id
             CROSS JOIN users u
             WHERE p.conversation_id = $1 AND p.user_id <> $2 AND u.id = $2
               AND NOT (p.muted AND (p.muted_until IS NULL OR p.muted_until > now()))
               AND (s.expires_at IS NULL OR s.expires_at > now())
               AND NOT EXISTS (SELECT 1 FROM user_blocks b
                               WHERE (b.blocker_id = p.user_id AND b.blocked_id = $2)
                                  OR (b.blocker_id = $2 AND b.blocked_id = p.user_id))`,
      values: [message.conversation_id, message.sender_id],
    });
    if (rows.length === 0) return;
    const byUser = new Map<Id, RecipientRow[]>();
    for (const row of rows) {
      const userId = Number(row.user_id);
      byUser.set(userId, [...(byUser.get(userId) ?? []), row]);
    }
    const users = await this.offlineAndDue([...byUser.keys()], message.conversation_id);
    if (users.length === 0) return;
    const first = rows[0]!;
    const payload = pushPayload(
      message,
      { username: first.sender_username, display_name: first.sender_display_name },
      conversation.type === 'group' ? conversation.title : null,
      this.config.pushPayloadMaxBytes,
    );
    const topic = `conversation-${message.conversation_id}`;
    for (const userId of users) {
      for (const row of byUser.get(userId)!) {
        this.enqueue({ target: { ...row, id: Number(row.id) }, payload, topic });
      }
    }
  }

  /**
   * The users with no socket on any gateway (presence, written by the gateways) who were not notified about this
   * conversation within the collapse window; claims the window for them. One command per user (their keys share a
   * slot on a Redis Cluster, different users' do not); the commands of one turn leave in one write.
   */
  private async offlineAndDue(userIds: Id[], conversationId: Id): Promise<Id[]> {
    const redis = this.redis!;
    const prefix = this.config.redisPrefix;
    const online = await Promise.all(
      userIds.map((id) => redis.exists(`${prefix}${SharedRedisKeys.presenceUser(id)}`)),
    );
    const offline = userIds.filter((_, i) => online[i] === 0);
    if (online.length > offline.length)
      this.skipped.inc({ reason: 'online' }, online.length - offline.length);
    if (this.config.pushCollapseMs === 0 || offline.length === 0) return offline;
    const claimed = await Promise.all(
      offline.map((id) =>
        redis.set(
          `${prefix}push:collapse:{${id}}:${conversationId}`,
          '1',
          'PX',
          this.config.pushCollapseMs,
          'NX',
        ),
      ),
    );
    const due = offline.filter((_, i) => claimed[i] === 'OK');
    if (offline.length > due.length) this.skipped.inc({ reason: 'collapsed' }, offline.length - due.length);
    return due;
  }

  private enqueue(job: Job): void {
    if (this.active >= this.config.pushConcurrency) {
      if (this.queue.length >= this.config.pushQueueMax) {
        this.outcomes.inc({ outcome: 'dropped' });
        return;
      }
      this.queue.push(job);
      return;
    }
    this.run(job);
  }

  private run(job: Job): void {
    this.active++;
    void this.deliver(job).finally(() => {
      this.active--;
      const next = this.queue.shift();
      if (next) this.run(next);
    });
  }

  private async deliver(job: Job): Promise<void> {
    let outcome: PushOutcome;
    try {
      outcome = await this.sender!.send(job.target, job.payload, {
        topic: job.topic,
        ttlSeconds: this.config.pushTtlSeconds,
        urgency: 'high',
      });
    } catch (err) {
      this.logger.warn(`push to subscription ${job.target.id}: ${(err as Error).message}`);
      outcome = 'failed';
    }
    this.outcomes.inc({ outcome });
    if (outcome === 'expired') {
      // The push service says the subscription is gone (404/410): it never comes back.
      await this.db
        .query({ text: `DELETE FROM push_subscriptions WHERE id = $1`, values: [job.target.id] })
        .catch((err: Error) => this.logger.warn(`could not remove subscription: ${err.message}`));
    } else if (outcome !== 'sent') {
      this.logger.debug(`push to subscription ${job.target.id}: ${outcome}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.sender?.close();
    await this.redis?.quit().catch(() => this.redis?.disconnect());
  }
}
