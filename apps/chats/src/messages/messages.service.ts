import { Inject, Injectable } from '@nestjs/common';
import type { Message, MessagePage, RpcRequest, SendMessageResult } from '@parley/contracts';
import { CHATS_CONFIG, type ChatsConfig } from '../config/chats.config.js';
import { Errors } from '../common/domain.error.js';
import { MESSAGE_COLUMNS, pgCode, toMessage, type MessageRow } from '../common/rows.js';
import { Db } from '../database/db.service.js';

type SendRow = MessageRow & {
  conv_created_at: Date;
  participants: { user_id: number; last_read_seq: number }[];
};

/**
 * One statement, so one short transaction and one round trip: lock the conversation row, take the next seq,
 * insert the message (nothing when `client_message_id` was seen before: no seq is used, so no gap), advance
 * `last_seq`, move the conversation up every participant's list and the sender's read mark to the new message.
 * A send without a client_message_id stores its request id ($6); a second insert of it fails on
 * messages_request_id_key, and the stored message is returned instead.
 */
const SEND_SQL = `
WITH conv AS (
  SELECT c.id, c.last_seq, c.sender_id, c.receiver_id, c.created_at
  FROM conversations c
  WHERE c.id = $1
    AND EXISTS (SELECT 1 FROM conversation_participants p WHERE p.conversation_id = c.id AND p.user_id = $2)
  FOR UPDATE
), ins AS (
  INSERT INTO messages (conversation_id, seq, sender_id, message_type, content, client_message_id, request_id)
  SELECT conv.id, conv.last_seq + 1, $2, $3, $4, $5, CASE WHEN $5::varchar IS NULL THEN $6::uuid END FROM conv
  ON CONFLICT (sender_id, client_message_id) DO NOTHING
  RETURNING id, conversation_id, seq, sender_id, message_type, content, client_message_id, created_at
), upd AS (
  UPDATE conversations c SET last_seq = ins.seq, last_message_id = ins.id
  FROM ins WHERE c.id = ins.conversation_id
), parts AS (
  UPDATE conversation_participants p
  SET activity = nextval('conversation_activity_seq'),
      last_read_seq = CASE WHEN p.user_id = $2 THEN ins.seq ELSE p.last_read_seq END
  FROM ins WHERE p.conversation_id = ins.conversation_id
  RETURNING p.user_id, p.last_read_seq
)
SELECT ins.*, conv.sender_id AS conv_sender_id, conv.receiver_id AS conv_receiver_id, conv.created_at AS conv_created_at,
       (SELECT json_agg(json_build_object('user_id', parts.user_id, 'last_read_seq', parts.last_read_seq)) FROM parts)
         AS participants
FROM ins, conv`;

type SendRequest = RpcRequest<'messages.send'>;

interface Pending {
  req: SendRequest;
  resolve: (result: SendMessageResult) => void;
  reject: (err: unknown) => void;
}

interface BatchRow {
  idx: number;
  status: 'stored' | 'not_found' | 'not_participant' | 'duplicate';
  id: number;
  seq: number;
  created_at: Date;
  conv_sender_id: number;
  conv_receiver_id: number;
  conv_created_at: Date;
  participants: { user_id: number; last_read_seq: number }[];
}

/** The answer to a send that stored `message`: it, its conversation's new state and every participant's read mark. */
function storedResult(
  message: Message,
  participants: { user_id: number; last_read_seq: number }[],
  convCreatedAt: Date,
): SendMessageResult {
  return {
    message,
    created: true,
    participants: participants.map((p) => ({
      user_id: Number(p.user_id),
      last_read_seq: Number(p.last_read_seq),
    })),
    conversation: {
      ...message.conversation,
      created_at: convCreatedAt.toISOString(),
      last_seq: message.seq,
      last_message: message,
    },
  };
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

  constructor(
    private readonly db: Db,
    @Inject(CHATS_CONFIG) private readonly config: ChatsConfig,
  ) {}

  /**
   * Stores a message and resolves once it is committed. Concurrent sends are committed together (group commit:
   * one round trip and one WAL flush for a batch, see parley_send_messages) while each caller still gets its own
   * result; with no concurrency a batch is a single message, so nothing waits. MESSAGE_BATCH_MAX=1 stores each
   * message with its own statement.
   */
  send(req: SendRequest): Promise<SendMessageResult> {
    if (this.config.messageBatchMax <= 1) return this.sendOne(req);
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
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
        text: 'SELECT * FROM parley_send_messages($1::jsonb)',
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
            })),
          ),
        ],
      });
    } catch (err) {
      // One message's failure must not fail the others: store each on its own (a database outage fails all).
      if (batch.length === 1) return batch[0]!.reject(err);
      await Promise.all(batch.map((p) => this.sendOne(p.req).then(p.resolve, p.reject)));
      return;
    }
    for (const row of rows) {
      const pending = batch[row.idx]!;
      const { req } = pending;
      if (row.status === 'not_found') pending.reject(Errors.conversationNotFound());
      else if (row.status === 'not_participant') pending.reject(Errors.notParticipant());
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
        };
        pending.resolve(storedResult(message, row.participants, row.conv_created_at));
      }
    }
  }

  /** One message, one statement (see SEND_SQL). */
  private async sendOne(req: SendRequest): Promise<SendMessageResult> {
    let rows: SendRow[];
    try {
      rows = await this.db.query({
        name: 'parley_send_message',
        text: SEND_SQL,
        values: [
          req.conversation_id,
          req.sender_id,
          req.message_type,
          req.content,
          req.client_message_id,
          req.request_id,
        ],
      });
    } catch (err) {
      if (isRequestIdConflict(err)) return this.existing(req);
      throw err;
    }
    const row = rows[0];
    if (row) return storedResult(toMessage(row), row.participants, row.conv_created_at);
    return this.explainNoInsert(req);
  }

  /** Nothing was inserted: the message is a repeat, or the conversation is missing or not the sender's. */
  private async explainNoInsert(req: SendRequest): Promise<SendMessageResult> {
    const rows: { found: boolean; member: boolean }[] = await this.db.query({
      text: `SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1) AS found,
              EXISTS (SELECT 1 FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2) AS member`,
      values: [req.conversation_id, req.sender_id],
    });
    if (!rows[0]!.found) throw Errors.conversationNotFound();
    if (!rows[0]!.member) throw Errors.notParticipant();
    return this.existing(req);
  }

  /**
   * The message stored earlier under this sender's client_message_id (a repeat sends nothing new), or, for a send
   * without one, under this request's id (the same request handled a second time).
   */
  private async existing(req: SendRequest): Promise<SendMessageResult> {
    const existing: (MessageRow & { conv_created_at: Date; last_seq: number })[] = await this.db.query(
      req.client_message_id === null
        ? {
            text: `SELECT ${MESSAGE_COLUMNS}, c.created_at AS conv_created_at, c.last_seq
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.request_id = $1 AND m.sender_id = $2`,
            values: [req.request_id, req.sender_id],
          }
        : {
            text: `SELECT ${MESSAGE_COLUMNS}, c.created_at AS conv_created_at, c.last_seq
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
    const message = toMessage(row);
    return {
      message,
      created: false,
      participants: [],
      conversation: {
        ...message.conversation,
        created_at: row.conv_created_at.toISOString(),
        last_seq: row.last_seq,
        last_message: null,
      },
    };
  }

  /**
   * A page of history in ascending seq. Every mode is a range scan of the (conversation_id, seq) index: `page`
   * counts back from `last_seq` (seq has no gaps, so page N starts at last_seq - (N-1)·limit), the others start
   * at the given seq. Cost does not depend on how deep the page is.
   */
  async history(req: RpcRequest<'messages.history'>): Promise<MessagePage> {
    // One statement, one round trip: the access check, and the page only for a member. No row: no such
    // conversation; `member` false: not a participant (no page read); a member with nothing in range gets one row
    // of NULL message columns. Newer-first pages end at $3 (before_seq - 1) or, for `page`, at last_seq - $4.
    const ascending = req.mode === 'after';
    const rows: (Partial<MessageRow> & { member: boolean })[] = await this.db.query(
      ascending
        ? {
            text: `SELECT a.member, page.* FROM conversations c
             CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM conversation_participants p
               WHERE p.conversation_id = c.id AND p.user_id = $2) AS member) a
             LEFT JOIN LATERAL (SELECT ${MESSAGE_COLUMNS} FROM messages m
               WHERE a.member AND m.conversation_id = c.id AND m.seq > $3 ORDER BY m.seq ASC LIMIT $4) page ON true
             WHERE c.id = $1`,
            values: [req.conversation_id, req.user_id, req.after_seq, req.limit + 1],
          }
        : {
            text: `SELECT a.member, page.* FROM conversations c
             CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM conversation_participants p
               WHERE p.conversation_id = c.id AND p.user_id = $2) AS member) a
             LEFT JOIN LATERAL (SELECT ${MESSAGE_COLUMNS} FROM messages m
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
