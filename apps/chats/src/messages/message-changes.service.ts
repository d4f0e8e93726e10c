import { Injectable } from '@nestjs/common';
import {
  Limits,
  type Id,
  type MemberRole,
  type MessageChange,
  type MessageChangeResult,
  type RpcRequest,
} from '@parley/contracts';
import { Errors } from '../common/domain.error.js';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from '../common/rows.js';
import { Db, type Querier } from '../database/db.service.js';

type Target = RpcRequest<'messages.delete'>;

/** What a change of one message needs to know, read under the conversation's lock. */
interface ChangeContext {
  type: 'direct' | 'group';
  version: number;
  /** The caller's role; null: not a member. */
  role: MemberRole | null;
  /** A direct conversation whose users blocked each other (either way). */
  blocked: boolean;
  /** The message, if it is one of this conversation's; the rest is null without it. */
  message_id: Id | null;
  sender_id: Id | null;
  message_type: string | null;
  content: string | null;
  has_attachments: boolean | null;
  deleted: boolean | null;
  reactions: Record<string, number> | null;
  /** The caller already reacted with the requested emoji. */
  mine: boolean | null;
  /** The conversation's latest message is this one. */
  last: boolean | null;
  excluded: Id[] | null;
}

/** A change written: the message after it, and what it was. */
interface Written {
  row: MessageRow;
  change: MessageChange;
}

/**
 * Runs a change's statement (the conversation is `$1`, the message `$2`, the next version `$3`); its answer is the
 * message after the change.
 */
async function written(
  tx: Querier,
  change: MessageChange,
  statement: { text: string; values: unknown[] },
): Promise<Written> {
  const rows = await tx.query<MessageRow>(statement);
  return { row: rows[0]!, change };
}

/**
 * Edits, deletions and reactions. Each is one transaction that first locks the conversation's row, as a send
 * does, so every change takes the next `version` with no gaps or repeats, changes of one conversation apply one
 * by one (reaction counts need no read-modify-write race handling: nothing else writes them meanwhile), and the
 * lock order (conversation, then its messages) is the send's, so they cannot deadlock. A request that changes
 * nothing (the same content, a reaction already there or already gone, a second deletion) takes no version and
 * answers the message as it is, with `change: null`: retries are harmless.
 */
@Injectable()
export class MessageChangesService {
  constructor(private readonly db: Db) {}

  /** The author replaces a text message's content; sets `edited_at`. */
  edit(req: RpcRequest<'messages.edit'>): Promise<MessageChangeResult> {
    return this.change(req, null, async (tx, ctx) => {
      if (ctx.deleted) throw Errors.messageNotFound();
      if (ctx.sender_id !== req.user_id) throw Errors.onlyAuthorEdits();
      if (ctx.message_type !== 'text') throw Errors.notAllowed();
      if (ctx.blocked) throw Errors.blocked();
      if (req.content === '' && !ctx.has_attachments) throw Errors.contentEmpty();
      if (req.content === ctx.content) return null;
      return written(
        tx,
        { kind: 'edited', user_id: req.user_id },
        {
          text: `WITH m AS (
                 UPDATE messages m SET content = $4, edited_at = now(), version = $3 WHERE m.id = $2 RETURNING m.*
               ), c AS (
                 UPDATE conversations c SET version = $3 WHERE c.id = $1 RETURNING c.sender_id, c.receiver_id
               )
               SELECT ${MESSAGE_COLUMNS} FROM m, c`,
          values: [req.conversation_id, req.message_id, ctx.version + 1, req.content],
        },
      );
    });
  }

  /**
   * The author, or a group's owner or admins, replace the message with a tombstone: it keeps its place in `seq`
   * order; its content, attachments, metadata and reactions go.
   */
  delete(req: Target): Promise<MessageChangeResult> {
    return this.change(req, null, async (tx, ctx) => {
      const moderator = ctx.type === 'group' && (ctx.role === 'owner' || ctx.role === 'admin');
      if (ctx.message_type === 'system') throw Errors.notAllowed();
      if (ctx.sender_id !== req.user_id && !moderator) throw Errors.notAllowed();
      if (ctx.deleted) return null;
      return written(
        tx,
        { kind: 'deleted', user_id: req.user_id },
        {
          text: `WITH gone AS (
                 DELETE FROM message_reactions WHERE message_id = $2
               ), m AS (
                 UPDATE messages m SET content = '', attachments = NULL, metadata = NULL, reactions = NULL,
                        deleted_at = now(), version = $3
                 WHERE m.id = $2 RETURNING m.*
               ), c AS (
                 UPDATE conversations c SET version = $3 WHERE c.id = $1 RETURNING c.sender_id, c.receiver_id
               )
               SELECT ${MESSAGE_COLUMNS} FROM m, c`,
          values: [req.conversation_id, req.message_id, ctx.version + 1],
        },
      );
    });
  }

  /** Adds or removes the caller's reaction; any member, once per user and emoji. */
  react(req: RpcRequest<'messages.react'>): Promise<MessageChangeResult> {
    return this.change(req, req.emoji, async (tx, ctx) => {
      if (ctx.deleted) throw Errors.messageNotFound();
      if (ctx.blocked) throw Errors.blocked();
      if (req.add === ctx.mine) return null;
      const counts = ctx.reactions ?? {};
      if (req.add && counts[req.emoji] === undefined) {
        if (Object.keys(counts).length >= Limits.reactionsPerMessageMax) throw Errors.tooManyReactions();
      }
      const change: MessageChange = {
        kind: req.add ? 'reaction_added' : 'reaction_removed',
        user_id: req.user_id,
        emoji: req.emoji,
      };
      const values = [req.conversation_id, req.message_id, ctx.version + 1, req.emoji, req.user_id];
      return written(
        tx,
        change,
        req.add
          ? {
              text: `WITH mine AS (
                       INSERT INTO message_reactions (message_id, user_id, emoji) VALUES ($2, $5, $4)
                     ), m AS (
                       UPDATE messages m
                       SET reactions = jsonb_set(coalesce(m.reactions, '{}'), ARRAY[$4::text],
                                                 to_jsonb(coalesce((m.reactions->>$4::text)::int, 0) + 1)),
                           version = $3
                       WHERE m.id = $2 RETURNING m.*
                     ), c AS (
                       UPDATE conversations c SET version = $3 WHERE c.id = $1 RETURNING c.sender_id, c.receiver_id
                     )
                     SELECT ${MESSAGE_COLUMNS} FROM m, c`,
              values,
            }
          : {
              text: `WITH mine AS (
                       DELETE FROM message_reactions WHERE message_id = $2 AND user_id = $5 AND emoji = $4
                     ), m AS (
                       UPDATE messages m
                       SET reactions = CASE WHEN (m.reactions->>$4::text)::int <= 1
                                         THEN nullif(m.reactions - $4::text, '{}')
                                         ELSE jsonb_set(m.reactions, ARRAY[$4::text],
                                                        to_jsonb((m.reactions->>$4::text)::int - 1)) END,
                           version = $3
                       WHERE m.id = $2 RETURNING m.*
                     ), c AS (
                       UPDATE conversations c SET version = $3 WHERE c.id = $1 RETURNING c.sender_id, c.receiver_id
                     )
                     SELECT ${MESSAGE_COLUMNS} FROM m, c`,
              values,
            },
      );
    });
  }

  /**
   * Runs one change in a transaction: locks the conversation and reads what `decide` needs (refusing a missing
   * conversation, a non-member and a message of another conversation, the same way for every kind), then `decide`
   * refuses, answers null (nothing to change), or writes the change.
   */
  private async change(
    req: Target,
    emoji: string | null,
    decide: (tx: Querier, ctx: ChangeContext) => Promise<Written | null>,
  ): Promise<MessageChangeResult> {
    return this.db.transaction(async (tx) => {
      const ctx = await this.context(tx, req, emoji);
      const done = await decide(tx, ctx);
      const row = done?.row ?? (await this.current(tx, req.message_id));
      return {
        message: toMessage(row),
        change: done?.change ?? null,
        excluded_user_ids: (ctx.excluded ?? []).map(Number),
        last: ctx.last === true,
      };
    });
  }

  private async context(tx: Querier, req: Target, emoji: string | null): Promise<ChangeContext> {
    // The lock first, on its own: a statement that waited for it would still read the message and its reactions
    // as they were before the change it waited for (read committed refreshes only the locked row). The next
    // statement reads after every earlier change of this conversation has committed.
    await tx.query({
      text: `SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE`,
      values: [req.conversation_id],
    });
    const rows = await tx.query<ChangeContext>({
      text: `SELECT c.type, c.version, p.role,
               (c.type = 'direct' AND EXISTS (SELECT 1 FROM user_blocks b
                  WHERE (b.blocker_id = c.pair_low AND b.blocked_id = c.pair_high)
                     OR (b.blocker_id = c.pair_high AND b.blocked_id = c.pair_low))) AS blocked,
               m.id AS message_id, m.sender_id, m.message_type, m.content,
               m.attachments IS NOT NULL AS has_attachments, m.deleted_at IS NOT NULL AS deleted, m.reactions,
               EXISTS (SELECT 1 FROM message_reactions r
                       WHERE r.message_id = m.id AND r.user_id = $2 AND r.emoji = $4) AS mine,
               c.last_message_id = m.id AS last,
               CASE WHEN c.type = 'group' THEN ARRAY(
                 SELECT DISTINCT e.user_id FROM membership_events e
                 WHERE e.conversation_id = c.id AND e.action IN ('removed', 'left')
                   AND e.created_at > now() - interval '1 minute'
                   AND NOT EXISTS (SELECT 1 FROM conversation_participants q
                                   WHERE q.conversation_id = c.id AND q.user_id = e.user_id)) END AS excluded
             FROM conversations c
             LEFT JOIN conversation_participants p ON p.conversation_id = c.id AND p.user_id = $2
             LEFT JOIN messages m ON m.id = $3 AND m.conversation_id = c.id
             WHERE c.id = $1`,
      values: [req.conversation_id, req.user_id, req.message_id, emoji],
    });
    const ctx = rows[0];
    if (!ctx) throw Errors.conversationNotFound();
    if (ctx.role === null) throw Errors.notParticipant();
    if (ctx.message_id === null) throw Errors.messageNotFound();
    return ctx;
  }

  private async current(tx: Querier, messageId: Id): Promise<MessageRow> {
    const rows = await tx.query<MessageRow>({
      text: `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id = $1`,
      values: [messageId],
    });
    return rows[0]!;
  }
}
