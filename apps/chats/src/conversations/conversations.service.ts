import { Injectable } from '@nestjs/common';
import type { Conversation, RpcRequest, RpcResponse } from '@parley/contracts';
import { Errors } from '../common/domain.error.js';
import { CONVERSATION_COLUMNS, pgCode, toConversation, type ConversationRow } from '../common/rows.js';
import { Db } from '../database/db.service.js';

const FOREIGN_KEY_VIOLATION = '23503';

@Injectable()
export class ConversationsService {
  constructor(private readonly db: Db) {}

  /** The conversation of the pair, created when it does not exist yet (idempotent in either order). */
  async create(req: RpcRequest<'conversations.create'>): Promise<RpcResponse<'conversations.create'>> {
    if (req.user_id === req.receiver_id) throw Errors.selfConversation();
    let created: { id: number }[];
    try {
      created = await this.db.query({
        text: `WITH c AS (
           INSERT INTO conversations (sender_id, receiver_id, pair_low, pair_high)
           VALUES ($1, $2, least($1::bigint, $2::bigint), greatest($1::bigint, $2::bigint))
           ON CONFLICT (pair_low, pair_high) DO NOTHING
           RETURNING id
         ), p AS (
           INSERT INTO conversation_participants (conversation_id, user_id, activity)
           SELECT c.id, u, nextval('conversation_activity_seq') FROM c, unnest(ARRAY[$1, $2]::bigint[]) AS u
         )
         SELECT id FROM c`,
        values: [req.user_id, req.receiver_id],
      });
    } catch (err) {
      if (pgCode(err) === FOREIGN_KEY_VIOLATION) throw Errors.userNotFound();
      throw err;
    }
    if (created.length > 0) {
      return {
        conversation: await this.get({ user_id: req.user_id, conversation_id: created[0]!.id }),
        created: true,
      };
    }
    const existing: ConversationRow[] = await this.db.query({
      text: `SELECT ${CONVERSATION_COLUMNS}
       FROM conversations c
       LEFT JOIN conversation_participants p ON p.conversation_id = c.id AND p.user_id = $1
       LEFT JOIN messages m ON m.id = c.last_message_id
       WHERE c.pair_low = least($1::bigint, $2::bigint) AND c.pair_high = greatest($1::bigint, $2::bigint)`,
      values: [req.user_id, req.receiver_id],
    });
    return { conversation: toConversation(existing[0]!), created: false };
  }

  async get(req: RpcRequest<'conversations.get'>): Promise<Conversation> {
    const rows: ConversationRow[] = await this.db.query({
      text: `SELECT ${CONVERSATION_COLUMNS}
       FROM conversations c
       LEFT JOIN conversation_participants p ON p.conversation_id = c.id AND p.user_id = $2
       LEFT JOIN messages m ON m.id = c.last_message_id
       WHERE c.id = $1`,
      values: [req.conversation_id, req.user_id],
    });
    const row = rows[0];
    if (!row) throw Errors.conversationNotFound();
    if (row.last_read_seq === null) throw Errors.notParticipant();
    return toConversation(row);
  }

  /**
   * The caller's conversations, most recent activity first: a range scan of the (user_id, activity) index, so
   * a page costs the same however many conversations the user has.
   */
  async list(req: RpcRequest<'conversations.list'>): Promise<RpcResponse<'conversations.list'>> {
    const before = req.cursor === null ? null : decodeCursor(req.cursor);
    const rows: ConversationRow[] = await this.db.query({
      text: `SELECT ${CONVERSATION_COLUMNS}, p.activity
       FROM conversation_participants p
       JOIN conversations c ON c.id = p.conversation_id
       LEFT JOIN messages m ON m.id = c.last_message_id
       WHERE p.user_id = $1 AND ($2::bigint IS NULL OR p.activity < $2::bigint)
       ORDER BY p.activity DESC
       LIMIT $3`,
      values: [req.user_id, before, req.limit + 1],
    });
    const page = rows.slice(0, req.limit);
    const hasMore = rows.length > req.limit;
    return {
      conversations: page.map(toConversation),
      next_cursor: hasMore ? encodeCursor(page[page.length - 1]!.activity!) : null,
    };
  }

  async membership(
    req: RpcRequest<'conversations.membership'>,
  ): Promise<RpcResponse<'conversations.membership'>> {
    const rows: { last_seq: number; last_read_seq: number | null; participant_ids: number[] }[] =
      await this.db.query({
        text: `SELECT c.last_seq, p.last_read_seq,
              ARRAY(SELECT user_id FROM conversation_participants WHERE conversation_id = c.id ORDER BY user_id) AS participant_ids
       FROM conversations c
       LEFT JOIN conversation_participants p ON p.conversation_id = c.id AND p.user_id = $2
       WHERE c.id = $1`,
        values: [req.conversation_id, req.user_id],
      });
    const row = rows[0];
    if (!row) throw Errors.conversationNotFound();
    if (row.last_read_seq === null) throw Errors.notParticipant();
    return {
      conversation_id: req.conversation_id,
      last_seq: row.last_seq,
      last_read_seq: row.last_read_seq,
      participant_ids: row.participant_ids.map(Number),
    };
  }

  /** Moves the caller's read mark forward to `seq` (default and cap: the latest message); never back. */
  async markRead(
    req: RpcRequest<'conversations.mark-read'>,
  ): Promise<RpcResponse<'conversations.mark-read'>> {
    const rows: { old_seq: number; new_seq: number | null }[] = await this.db.query({
      text: `WITH target AS (
         SELECT p.conversation_id, p.user_id, p.last_read_seq AS old_seq,
                least(coalesce($3::bigint, c.last_seq), c.last_seq) AS wanted
         FROM conversation_participants p
         JOIN conversations c ON c.id = p.conversation_id
         WHERE p.conversation_id = $1 AND p.user_id = $2
         FOR UPDATE OF p
       ), moved AS (
         UPDATE conversation_participants p SET last_read_seq = t.wanted
         FROM target t
         WHERE p.conversation_id = t.conversation_id AND p.user_id = t.user_id AND t.wanted > t.old_seq
         RETURNING p.last_read_seq
       )
       SELECT t.old_seq, (SELECT last_read_seq FROM moved) AS new_seq FROM target t`,
      values: [req.conversation_id, req.user_id, req.seq],
    });
    const row = rows[0];
    if (!row) {
      await this.membership({ user_id: req.user_id, conversation_id: req.conversation_id }); // throws 404 or 403
      throw Errors.notParticipant();
    }
    const moved = row.new_seq !== null;
    return { conversation_id: req.conversation_id, seq: moved ? row.new_seq! : row.old_seq, moved };
  }
}

// The cursor is opaque to clients: a version tag and the activity value of the last conversation of a page.
function encodeCursor(activity: number): string {
  return Buffer.from(`v1:${activity}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^v1:(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const value = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(value)) throw Errors.invalidCursor();
  return value;
}
