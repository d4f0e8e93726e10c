import { Inject, Injectable } from '@nestjs/common';
import type { Conversation, MembershipChange, RpcRequest, RpcResponse } from '@parley/contracts';
import { decodeCursor, encodeCursor } from '../common/cursor.js';
import { Errors } from '../common/domain.error.js';
import {
  CONVERSATION_COLUMNS,
  MESSAGE_COLUMNS,
  pgCode,
  toConversation,
  toMessage,
  type ConversationRow,
  type MessageRow,
} from '../common/rows.js';
import { CHATS_CONFIG, type ChatsConfig } from '../config/chats.config.js';
import { Db, type Querier } from '../database/db.service.js';
import {
  appendSystemMessage,
  changeOf,
  conversationOf,
  conversationState,
  displayNames,
  lockConversation,
  memberIds,
  memberViews,
  roleOf,
} from './conversation.queries.js';

const FOREIGN_KEY_VIOLATION = '23503';

/** Conversation lists page by the activity value of a page's last conversation. */
const CURSOR = 'v1';

@Injectable()
export class ConversationsService {
  constructor(
    private readonly db: Db,
    @Inject(CHATS_CONFIG) private readonly config: ChatsConfig,
  ) {}

  /**
   * The direct conversation of the pair, created when it does not exist yet (idempotent in either order). A new
   * one is refused between users where either blocked the other; an existing one is returned.
   */
  async create(req: RpcRequest<'conversations.create'>): Promise<RpcResponse<'conversations.create'>> {
    if (req.user_id === req.receiver_id) throw Errors.selfConversation();
    const existing = await this.directOf(req.user_id, req.receiver_id);
    if (existing) return { conversation: existing, created: false };
    let created: { id: number }[];
    try {
      created = await this.db.query({
        text: `WITH c AS (
           INSERT INTO conversations (sender_id, receiver_id, pair_low, pair_high)
           SELECT $1, $2, least($1::bigint, $2::bigint), greatest($1::bigint, $2::bigint)
           WHERE NOT EXISTS (SELECT 1 FROM user_blocks b
                             WHERE (b.blocker_id = $1 AND b.blocked_id = $2) OR (b.blocker_id = $2 AND b.blocked_id = $1))
           ON CONFLICT (pair_low, pair_high) DO NOTHING
           RETURNING id
         ), p AS (
           INSERT INTO conversation_participants (conversation_id, user_id, activity)
           SELECT c.id, u, nextval('conversation_activity_seq') FROM c, unnest(ARRAY[$1, $2]::bigint[]) AS u
         ), e AS (
           INSERT INTO membership_events (conversation_id, user_id, actor_id, action, role)
           SELECT c.id, u, $1, 'added', 'member' FROM c, unnest(ARRAY[$1, $2]::bigint[]) AS u
         )
         SELECT id FROM c`,
        values: [req.user_id, req.receiver_id],
      });
    } catch (err) {
      if (pgCode(err) === FOREIGN_KEY_VIOLATION) throw Errors.userNotFound();
      throw err;
    }
    if (created[0]) {
      return { conversation: await conversationOf(this.db, created[0].id, req.user_id), created: true };
    }
    // Created by the other user at the same moment, or refused by a block.
    const raced = await this.directOf(req.user_id, req.receiver_id);
    if (raced) return { conversation: raced, created: false };
    throw Errors.blocked();
  }

  private async directOf(userId: number, otherId: number): Promise<Conversation | null> {
    const rows: ConversationRow[] = await this.db.query({
      text: `SELECT ${CONVERSATION_COLUMNS}
       FROM conversations c
       LEFT JOIN conversation_participants p ON p.conversation_id = c.id AND p.user_id = $1
       LEFT JOIN messages m ON m.id = c.last_message_id
       WHERE c.pair_low = least($1::bigint, $2::bigint) AND c.pair_high = greatest($1::bigint, $2::bigint)`,
      values: [userId, otherId],
    });
    return rows[0] ? toConversation(rows[0]) : null;
  }

  /**
   * A group of the caller (its owner) and `member_ids`, with its `created` system message (seq 1). Members start
   * with their read mark on it: nothing is unread for them yet.
   */
  async createGroup(req: RpcRequest<'conversations.create-group'>): Promise<MembershipChange> {
    const others = [...new Set(req.member_ids)].filter((id) => id !== req.user_id);
    if (others.length + 1 > this.config.groupMaxMembers) throw Errors.groupTooLarge();
    const members = [req.user_id, ...others];
    return this.db.transaction(async (tx) => {
      const names = await displayNames(tx, members);
      if (names.size !== members.length) throw Errors.userNotFound();
      const [conv] = await tx.query<{ id: number }>({
        text: `INSERT INTO conversations (type, sender_id, title, metadata, member_count, request_id)
               VALUES ('group', $1, $2, $3, $4, $5)
               ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO NOTHING
               RETURNING id`,
        values: [req.user_id, req.title, JSON.stringify(req.metadata), members.length, req.request_id],
      });
      // Handled before (its first consumer died after the commit): answer with the group it created.
      if (!conv) return this.createdBefore(tx, req);
      const pushed = members.length <= this.config.groupFanoutMax;
      await tx.query({
        text: `INSERT INTO conversation_participants (conversation_id, user_id, role, last_read_seq, activity)
               SELECT $1, u, CASE WHEN u = $2 THEN 'owner' ELSE 'member' END, 1,
                      CASE WHEN $4 THEN nextval('conversation_activity_seq') END
               FROM unnest($3::bigint[]) AS u`,
        values: [conv.id, req.user_id, members, pushed],
      });
      await tx.query({
        text: `INSERT INTO membership_events (conversation_id, user_id, actor_id, action, role, seq)
               SELECT $1, u, $2, 'added', CASE WHEN u = $2 THEN 'owner' ELSE 'member' END, 1
               FROM unnest($3::bigint[]) AS u`,
        values: [conv.id, req.user_id, members],
      });
      const locked = await lockConversation(tx, conv.id);
      await appendSystemMessage(tx, locked, {
        actorId: req.user_id,
        action: 'created',
        userIds: others,
        content: `${names.get(req.user_id)} created the group "${req.title}"`,
        fanoutMax: this.config.groupFanoutMax,
      });
      return this.createdBefore(tx, req, conv.id);
    });
  }

  /** The change a group's creation made, read back: its `created` message, state and members' views. */
  private async createdBefore(
    tx: Querier,
    req: RpcRequest<'conversations.create-group'>,
    conversationId?: number,
  ): Promise<MembershipChange> {
    const [found] = await tx.query<{ id: number }>({
      text: `SELECT id FROM conversations WHERE id = $1 OR ($1 IS NULL AND request_id = $2)`,
      values: [conversationId ?? null, req.request_id],
    });
    if (!found) throw Errors.conversationNotFound();
    const [created] = await tx.query<MessageRow>({
      text: `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.conversation_id = $1 AND m.seq = 1`,
      values: [found.id],
    });
    const members = await memberIds(tx, found.id);
    return changeOf(
      tx,
      found.id,
      req.user_id,
      { messages: [toMessage(created!)], added: members, removed: [] },
      this.config.presenceGroupMax,
    );
  }

  /** A group's title and/or metadata (owner and admins), recorded as a `group_updated` system message. */
  async update(req: RpcRequest<'conversations.update'>): Promise<MembershipChange> {
    return this.db.transaction(async (tx) => {
      const conv = await lockConversation(tx, req.conversation_id);
      const role = await roleOf(tx, conv.id, req.user_id);
      if (conv.type === 'direct' || role === 'member') throw Errors.notAllowed();
      await tx.query({
        text: `UPDATE conversations SET title = coalesce($2, title), metadata = coalesce($3::jsonb, metadata)
               WHERE id = $1`,
        values: [
          conv.id,
          req.title ?? null,
          req.metadata === undefined ? null : JSON.stringify(req.metadata),
        ],
      });
      const names = await displayNames(tx, [req.user_id]);
      const what = req.title === undefined ? 'updated the group' : `renamed the group to "${req.title}"`;
      const message = await appendSystemMessage(tx, conv, {
        actorId: req.user_id,
        action: 'group_updated',
        userIds: [],
        content: `${names.get(req.user_id)} ${what}`,
        fanoutMax: this.config.groupFanoutMax,
      });
      return changeOf(
        tx,
        conv.id,
        req.user_id,
        { messages: [message], added: [], removed: [] },
        this.config.presenceGroupMax,
      );
    });
  }

  async get(req: RpcRequest<'conversations.get'>): Promise<Conversation> {
    return conversationOf(this.db, req.conversation_id, req.user_id);
  }

  /**
   * The caller's conversations, most recent activity first. Two index range scans of `(user_id, activity)`,
   * merged: the member rows whose activity moves with each message (direct conversations and groups up to
   * GROUP_FANOUT_MAX members), and the large groups (activity null), ordered by the conversation's own activity.
   * Both take their values from one sequence, so one cursor serves both. A page costs the same however many
   * conversations the user has; the second scan reads each of the user's large groups, which are few.
   */
  async list(req: RpcRequest<'conversations.list'>): Promise<RpcResponse<'conversations.list'>> {
    const before = req.cursor === null ? null : decodeCursor(CURSOR, req.cursor);
    const rows: ConversationRow[] = await this.db.queryReplica({
      text: `SELECT * FROM (
         (SELECT ${CONVERSATION_COLUMNS}, p.activity
          FROM conversation_participants p
          JOIN conversations c ON c.id = p.conversation_id
          LEFT JOIN messages m ON m.id = c.last_message_id
          WHERE p.user_id = $1 AND p.activity IS NOT NULL AND ($2::bigint IS NULL OR p.activity < $2::bigint)
          ORDER BY p.activity DESC
          LIMIT $3)
         UNION ALL
         (SELECT ${CONVERSATION_COLUMNS}, c.activity
          FROM conversation_participants p
          JOIN conversations c ON c.id = p.conversation_id
          LEFT JOIN messages m ON m.id = c.last_message_id
          WHERE p.user_id = $1 AND p.activity IS NULL AND ($2::bigint IS NULL OR c.activity < $2::bigint)
          ORDER BY c.activity DESC
          LIMIT $3)
       ) page ORDER BY activity DESC LIMIT $3`,
      values: [req.user_id, before, req.limit + 1],
    });
    const page = rows.slice(0, req.limit);
    const hasMore = rows.length > req.limit;
    return {
      conversations: page.map(toConversation),
      next_cursor: hasMore ? encodeCursor(CURSOR, page[page.length - 1]!.activity!) : null,
    };
  }

  /** Unread over all of the caller's conversations: one pass over their memberships. */
  async unread(req: RpcRequest<'conversations.unread'>): Promise<RpcResponse<'conversations.unread'>> {
    const [row] = await this.db.query<{ total: number; conversations: number }>({
      text: `SELECT coalesce(sum(greatest(c.unread_total - p.read_total, 0)), 0)::bigint AS total,
                    count(*) FILTER (WHERE c.unread_total > p.read_total)::int AS conversations
             FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id
             WHERE p.user_id = $1`,
      values: [req.user_id],
    });
    return { total_unread: Number(row!.total), unread_conversations: row!.conversations };
  }

  /** Mutes the conversation for the caller only, until `until` (null: until unmuted). */
  async mute(req: RpcRequest<'conversations.mute'>): Promise<Conversation> {
    if (req.until !== null && Date.parse(req.until) <= Date.now()) throw Errors.muteInPast();
    await this.setMute(req.user_id, req.conversation_id, true, req.until);
    return conversationOf(this.db, req.conversation_id, req.user_id);
  }

  async unmute(req: RpcRequest<'conversations.unmute'>): Promise<Conversation> {
    await this.setMute(req.user_id, req.conversation_id, false, null);
    return conversationOf(this.db, req.conversation_id, req.user_id);
  }

  private async setMute(userId: number, conversationId: number, muted: boolean, until: string | null) {
    const rows = await this.db.query({
      text: `UPDATE conversation_participants SET muted = $3, muted_until = $4
             WHERE conversation_id = $1 AND user_id = $2 RETURNING user_id`,
      values: [conversationId, userId, muted, until],
    });
    if (rows.length === 0) await conversationOf(this.db, conversationId, userId); // throws 404 or 403
  }

  /** Every member's view, grouped (the coalesced `conversation-updated` of a large group). */
  async memberViews(
    req: RpcRequest<'conversations.member-views'>,
  ): Promise<RpcResponse<'conversations.member-views'>> {
    return {
      conversation: await conversationState(this.db, req.conversation_id),
      views: await memberViews(this.db, req.conversation_id),
    };
  }

  async membership(
    req: RpcRequest<'conversations.membership'>,
  ): Promise<RpcResponse<'conversations.membership'>> {
    const rows: {
      type: 'direct' | 'group';
      last_seq: number;
      last_read_seq: number | null;
      version: number;
      blocked: boolean;
    }[] = await this.db.query({
      name: 'parley_membership',
      text: `SELECT c.type, c.last_seq, p.last_read_seq, c.version,
              (c.type = 'direct' AND EXISTS (SELECT 1 FROM user_blocks b
                 WHERE (b.blocker_id = c.pair_low AND b.blocked_id = c.pair_high)
                    OR (b.blocker_id = c.pair_high AND b.blocked_id = c.pair_low))) AS blocked
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
      type: row.type,
      last_seq: row.last_seq,
      last_read_seq: row.last_read_seq,
      version: row.version,
      blocked: row.blocked,
    };
  }

  /**
   * Moves the caller's read mark forward to `seq` (default and cap: the latest message); never back. The mark's
   * unread total is the one its message recorded (a lookup by the (conversation_id, seq) key; messages from before
   * groups recorded none, and theirs is their seq).
   */
  async markRead(
    req: RpcRequest<'conversations.mark-read'>,
  ): Promise<RpcResponse<'conversations.mark-read'>> {
    const rows: { old_seq: number; new_seq: number | null }[] = await this.db.query({
      text: `WITH target AS (
         SELECT p.conversation_id, p.user_id, p.last_read_seq AS old_seq,
                least(coalesce($3::bigint, c.last_seq), c.last_seq) AS wanted, c.last_seq, c.unread_total
         FROM conversation_participants p
         JOIN conversations c ON c.id = p.conversation_id
         WHERE p.conversation_id = $1 AND p.user_id = $2
         FOR UPDATE OF p
       ), moved AS (
         UPDATE conversation_participants p SET last_read_seq = t.wanted,
           read_total = CASE WHEN t.wanted = t.last_seq THEN t.unread_total
                             ELSE (SELECT coalesce(m.unread_total, m.seq) FROM messages m
                                   WHERE m.conversation_id = t.conversation_id AND m.seq = t.wanted) END
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
