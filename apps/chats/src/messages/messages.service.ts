import { Inject, Injectable } from '@nestjs/common';
import type {
  Attachment,
  ConversationType,
  MemberRole,
  MemberViewGroup,
  Message,
  MessagePage,
  Metadata,
  RpcRequest,
  SendMessageResult,
  SendOutcome,
} from '@parley/contracts';
import { METRICS_REGISTRY } from '@parley/observability';
import { Counter, type Registry } from 'prom-client';
import { CHATS_CONFIG, type ChatsConfig } from '../config/chats.config.js';
import { Errors } from '../common/domain.error.js';
import { toRpcErrorBody } from '../common/rpc-exception.filter.js';
import { MESSAGE_COLUMNS, MY_REACTIONS_COLUMN, pgCode, toMessage, type MessageRow } from '../common/rows.js';
import { conversationState } from '../conversations/conversation.queries.js';
import { Db } from '../database/db.service.js';
import { PushService } from '../push/push.service.js';

type SendRequest = RpcRequest<'messages.send'>;

interface Pending {
  req: SendRequest;
  resolve: (result: SendMessageResult) => void;
  reject: (err: unknown) => void;
}

interface BatchRow {
  idx: number;
  status: 'stored' | 'not_found' | 'not_participant' | 'blocked' | 'duplicate' | 'bad_reply';
  id: number;
  seq: number;
  version: number;
  created_at: Date;
  attachments: Attachment[] | null;
  metadata: Metadata | null;
  conv_sender_id: number;
  conv_receiver_id: number | null;
  conv_created_at: Date;
  conv_type: ConversationType;
  conv_title: string | null;
  conv_metadata: Metadata;
  conv_member_count: number;
  members:
    | {
        user_id: number;
        unread: number;
        role: MemberRole;
        muted: boolean;
        muted_until: string | null;
      }[]
    | null;
  excluded: number[] | null;
}

/** The answer to a send that stored `message`: it, its conversation's new state and each member's view. */
function storedResult(message: Message, row: BatchRow): SendMessageResult {
  return {
    message,
    created: true,
    conversation: {
      ...message.conversation,
      created_at: row.conv_created_at.toISOString(),
      last_seq: message.seq,
      last_message: message,
      type: row.conv_type,
      title: row.conv_title,
      member_count: row.conv_member_count,
      metadata: row.conv_metadata,
      version: message.version,
    },
    views: row.members === null ? null : groupViews(row.members),
    excluded_user_ids: (row.excluded ?? []).map(Number),
  };
}

/** Members who see the conversation alike share one broadcast (usually: all but the sender are at one count). */
function groupViews(members: NonNullable<BatchRow['members']>): MemberViewGroup[] {
  const groups = new Map<string, MemberViewGroup>();
  for (const m of members) {
    const mutedUntil = m.muted_until === null ? null : new Date(m.muted_until).toISOString();
    const key = `${m.unread}|${m.role}|${m.muted}|${mutedUntil}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        view: {
          unread_count: Math.max(0, m.unread),
          my_role: m.role,
          muted: m.muted,
          muted_until: mutedUntil,
        },
        user_ids: [],
      };
      groups.set(key, group);
    }
    group.user_ids.push(Number(m.user_id));
  }
  return [...groups.values()];
}

/** A second insert of a request id (the same cmid-less send handled twice, at the same moment). */
function isRequestIdConflict(err: unknown): boolean {
  return (
    pgCode(err) === '23505' && (err as { constraint?: unknown }).constraint === 'messages_request_id_key'
  );
}

/** Batches committed at once; more concurrent sends wait and go together in the next batch. */
const BATCHES_IN_FLIGHT = 4;

@Injectable()
export class MessagesService {
  private readonly queue: Pending[] = [];
  private batchesInFlight = 0;
  private pumpScheduled = false;

  private readonly sends: Counter;

  constructor(
    private readonly db: Db,
    @Inject(CHATS_CONFIG) private readonly config: ChatsConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly push: PushService,
  ) {
    this.sends = new Counter({
      name: 'parley_sends_handled_total',
      help: 'Sends handled by this chats instance, alone (messages.send) or in batches (messages.send-batch)',
      registers: [registry],
    });
  }

  /**
   * Stores a message and resolves once it is committed. Concurrent sends are committed together (group commit:
   * one round trip and one WAL flush for a batch, see parley_send_messages) while each caller still gets its own
   * result; with no concurrency a batch is a single message, so nothing waits. MESSAGE_BATCH_MAX=1 stores each
   * message with its own statement.
   */
  send(req: SendRequest): Promise<SendMessageResult> {
    this.sends.inc();
    if (this.config.messageBatchMax <= 1) return this.sendOne(req);
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.schedulePump();
    });
  }

  /**
   * The sends of one `messages.send-batch` request: queued in one go, so they share a transaction; each outcome is
   * its own (one send refused does not fail the others).
   */
  async sendBatch(requests: SendRequest[]): Promise<{ results: SendOutcome[] }> {
    const results = await Promise.allSettled(requests.map((req) => this.send(req)));
    return {
      results: results.map((r) =>
        r.status === 'fulfilled' ? { ok: r.value } : { error: toRpcErrorBody(r.reason) },
      ),
    };
  }

  /** Once per turn, so that the sends queued in one turn (a batch request, or several requests) commit together. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.batchesInFlight < BATCHES_IN_FLIGHT && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.config.messageBatchMax);
      this.batchesInFlight++;
      void this.commitBatch(batch).finally(() => {
        this.batchesInFlight--;
        this.pump();
      });
    }
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    let rows: BatchRow[];
    try {
      rows = await this.db.query<BatchRow>({
        name: 'parley_send_messages',
        text: 'SELECT * FROM parley_send_messages($1::jsonb, $2::int)',
        values: [
          JSON.stringify(
            batch.map((p, i) => ({
              i,
              c: p.req.conversation_id,
              s: p.req.sender_id,
              t: p.req.message_type,
              x: p.req.content,
              k: p.req.client_message_id,
              r: p.req.request_id,
              p: p.req.reply_to_id ?? null,
              a: p.req.attachments?.length ? p.req.attachments : null,
              d: p.req.metadata && Object.keys(p.req.metadata).length > 0 ? p.req.metadata : null,
            })),
          ),
          this.config.groupFanoutMax,
        ],
      });
    } catch (err) {
      // One message's failure must not fail the others: store each on its own (a database outage fails all).
      if (batch.length === 1) {
        const only = batch[0]!;
        if (isRequestIdConflict(err)) return this.existing(only.req).then(only.resolve, only.reject);
        return only.reject(err);
      }
      await Promise.all(batch.map((p) => this.sendOne(p.req).then(p.resolve, p.reject)));
      return;
    }
    for (const row of rows) {
      const pending = batch[row.idx]!;
      const { req } = pending;
      if (row.status === 'not_found') pending.reject(Errors.conversationNotFound());
      else if (row.status === 'not_participant') pending.reject(Errors.notParticipant());
      else if (row.status === 'blocked') pending.reject(Errors.blocked());
      else if (row.status === 'bad_reply') pending.reject(Errors.replyNotInConversation());
      else if (row.status === 'duplicate') this.existing(req).then(pending.resolve, pending.reject);
      else {
        const message: Message = {
          id: row.id,
          sender_id: req.sender_id,
          conversation_id: req.conversation_id,
          seq: row.seq,
          timestamp: row.created_at.toISOString(),
          message_type: req.message_type,
          content: req.content,
          client_message_id: req.client_message_id,
          conversation: {
            id: req.conversation_id,
            sender_id: row.conv_sender_id,
            receiver_id: row.conv_receiver_id,
          },
          version: row.version,
          edited_at: null,
          deleted_at: null,
          reply_to_id: req.reply_to_id ?? null,
          attachments: row.attachments ?? [],
          metadata: row.metadata ?? {},
          reactions: [],
        };
        const result = storedResult(message, row);
        pending.resolve(result);
        // Committed: notify offline members (returns at once; nothing when push is off).
        this.push.messageStored(result);
      }
    }
  }

  /** One message on its own: a batch of one, whose failure is its alone. */
  private sendOne(req: SendRequest): Promise<SendMessageResult> {
    return new Promise((resolve, reject) => {
      void this.commitBatch([{ req, resolve, reject }]);
    });
  }

  /**
   * The message stored earlier under this sender's client_message_id (a repeat sends nothing new), or, for a send
   * without one, under this request's id (the same request handled a second time).
   */
  private async existing(req: SendRequest): Promise<SendMessageResult> {
    const existing: MessageRow[] = await this.db.query(
      req.client_message_id === null
        ? {
            text: `SELECT ${MESSAGE_COLUMNS}
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.request_id = $1 AND m.sender_id = $2`,
            values: [req.request_id, req.sender_id],
          }
        : {
            text: `SELECT ${MESSAGE_COLUMNS}
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.sender_id = $1 AND m.client_message_id = $2`,
            values: [req.sender_id, req.client_message_id],
          },
    );
    const row = existing[0];
    // The key is unique per sender, whatever the conversation: a repeat aimed at another conversation is refused.
    if (!row || row.conversation_id !== req.conversation_id) {
      throw Errors.duplicateClientMessageId();
    }
    return {
      message: toMessage(row),
      created: false,
      conversation: await conversationState(this.db, req.conversation_id),
      views: null,
      excluded_user_ids: [],
    };
  }

  /**
   * A page of history in ascending seq, or (mode `version`) of every message created or changed after a version,
   * in ascending version. Every mode is a range scan of an index: `(conversation_id, seq)`, where `page` counts
   * back from `last_seq` (seq has no gaps, so page N starts at last_seq - (N-1)·limit) and the others start at the
   * given seq; or `(conversation_id, coalesce(version, seq))`. Cost does not depend on how deep the page is. Each
   * message carries the caller's own reactions (one index range each, only for messages with reactions).
   */
  async history(req: RpcRequest<'messages.history'>): Promise<MessagePage> {
    // One statement, one round trip: the access check, and the page only for a member. No row: no such
    // conversation; `member` false: not a participant (no page read); a member with nothing in range gets one row
    // of NULL message columns. Newer-first pages end at $3 (before_seq - 1) or, for `page`, at last_seq - $4.
    const ascending = req.mode === 'after' || req.mode === 'version';
    // Pages back in time may come from the replica (when it is caught up); the catch-up modes read the primary.
    const read = ascending ? this.db.query.bind(this.db) : this.db.queryReplica.bind(this.db);
    const rows: (Partial<MessageRow> & { member: boolean })[] = await read(
      req.mode === 'version'
        ? {
            text: `SELECT a.member, page.* FROM conversations c
             CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM conversation_participants p
               WHERE p.conversation_id = c.id AND p.user_id = $2) AS member) a
             LEFT JOIN LATERAL (SELECT ${MESSAGE_COLUMNS}, ${MY_REACTIONS_COLUMN}
               FROM messages m
               WHERE a.member AND m.conversation_id = c.id AND coalesce(m.version, m.seq) > $3
               ORDER BY coalesce(m.version, m.seq) ASC LIMIT $4) page ON true
             WHERE c.id = $1`,
            values: [req.conversation_id, req.user_id, req.after_version, req.limit + 1],
          }
        : req.mode === 'after'
          ? {
              text: `SELECT a.member, page.* FROM conversations c
             CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM conversation_participants p
               WHERE p.conversation_id = c.id AND p.user_id = $2) AS member) a
             LEFT JOIN LATERAL (SELECT ${MESSAGE_COLUMNS}, ${MY_REACTIONS_COLUMN}
               FROM messages m
               WHERE a.member AND m.conversation_id = c.id AND m.seq > $3 ORDER BY m.seq ASC LIMIT $4) page ON true
             WHERE c.id = $1`,
              values: [req.conversation_id, req.user_id, req.after_seq, req.limit + 1],
            }
          : {
              text: `SELECT a.member, page.* FROM conversations c
             CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM conversation_participants p
               WHERE p.conversation_id = c.id AND p.user_id = $2) AS member) a
             LEFT JOIN LATERAL (SELECT ${MESSAGE_COLUMNS}, ${MY_REACTIONS_COLUMN}
               FROM messages m
               WHERE a.member AND m.conversation_id = c.id AND m.seq <= coalesce($3, c.last_seq - $4)
               ORDER BY m.seq DESC LIMIT $5) page ON true
             WHERE c.id = $1`,
              values: [
                req.conversation_id,
                req.user_id,
                req.mode === 'before' ? req.before_seq - 1 : null,
                req.mode === 'page' ? (req.page - 1) * req.limit : null,
                req.limit + 1,
              ],
            },
    );
    if (rows.length === 0) throw Errors.conversationNotFound();
    if (!rows[0]!.member) throw Errors.notParticipant();
    const found = rows.filter((r): r is MessageRow & { member: boolean } => r.id != null);
    const page = found.slice(0, req.limit).map(toMessage);
    return { messages: ascending ? page : page.reverse(), has_more: found.length > req.limit };
  }
}
