import type {
  Conversation,
  ConversationState,
  Id,
  MemberRole,
  MembershipChange,
  MemberViewGroup,
  Message,
  Metadata,
  SystemAction,
} from '@parley/contracts';
import { Errors } from '../common/domain.error.js';
import {
  CONVERSATION_COLUMNS,
  CONVERSATION_STATE_COLUMNS,
  MEMBER_VIEW_COLUMNS,
  MESSAGE_COLUMNS,
  toConversation,
  toConversationState,
  toMemberView,
  toMessage,
  type ConversationRow,
  type ConversationStateRow,
  type MemberViewRow,
  type MessageRow,
} from '../common/rows.js';
import type { Querier } from '../database/db.service.js';

// Reads and writes of a conversation shared by its features (conversations, members, messages), each run on the
// querier it is given: the pool, or the transaction of a membership change.

/** A conversation row as a change sees it after locking it. */
export interface LockedConversation {
  id: Id;
  type: 'direct' | 'group';
  sender_id: Id;
  last_seq: number;
  unread_total: number;
  member_count: number;
  title: string | null;
  metadata: Metadata;
  version: number;
}

/**
 * Locks the conversation (every change of it takes the next seq or version, so changes of one conversation go one
 * by one).
 */
export async function lockConversation(q: Querier, conversationId: Id): Promise<LockedConversation> {
  const rows = await q.query<LockedConversation>({
    text: `SELECT id, type, sender_id, last_seq, unread_total, member_count, title, metadata, version
           FROM conversations WHERE id = $1 FOR UPDATE`,
    values: [conversationId],
  });
  if (!rows[0]) throw Errors.conversationNotFound();
  return rows[0];
}

/** The user's role in the conversation; throws NOT_PARTICIPANT when they are not a member. */
export async function roleOf(q: Querier, conversationId: Id, userId: Id): Promise<MemberRole> {
  const rows = await q.query<{ role: MemberRole }>({
    text: `SELECT role FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2`,
    values: [conversationId, userId],
  });
  if (!rows[0]) throw Errors.notParticipant();
  return rows[0].role;
}

/**
 * Appends a system message recording `action` by `actorId` to the locked conversation: the next seq and version (the
 * conversation's `last_seq` and `version` move, `unread_total` does not: system messages never count as unread), and the
 * conversation moves up its members' lists (see ParticipantEntity.activity). Read marks stay: a system message
 * is nobody's to have read, and "seen by" keeps meaning what the member saw.
 */
export async function appendSystemMessage(
  q: Querier,
  conv: LockedConversation,
  change: { actorId: Id; action: SystemAction; userIds: Id[]; content: string; fanoutMax: number },
): Promise<Message> {
  const seq = conv.last_seq + 1;
  const version = conv.version + 1;
  const system = { action: change.action, actor_id: change.actorId, user_ids: change.userIds };
  const rows = await q.query<MessageRow>({
    text: `WITH m AS (
             INSERT INTO messages
               (conversation_id, seq, version, sender_id, message_type, content, system, unread_total)
             VALUES ($1, $2, $3, $4, 'system', $5, $6, $7)
             RETURNING *
           ), c AS (
             UPDATE conversations c SET last_seq = m.seq, last_message_id = m.id, version = m.version,
                    activity = nextval('conversation_activity_seq')
             FROM m WHERE c.id = m.conversation_id
             RETURNING c.sender_id, c.receiver_id
           )
           SELECT ${MESSAGE_COLUMNS} FROM m, c`,
    values: [
      conv.id,
      seq,
      version,
      change.actorId,
      change.content,
      JSON.stringify(system),
      conv.unread_total,
    ],
  });
  if (conv.member_count <= change.fanoutMax) {
    await q.query({
      text: `UPDATE conversation_participants SET activity = nextval('conversation_activity_seq')
             WHERE conversation_id = $1`,
      values: [conv.id],
    });
  }
  conv.last_seq = seq;
  conv.version = version;
  return toMessage(rows[0]!);
}

/** The conversation's fields that are the same for every member. */
export async function conversationState(q: Querier, conversationId: Id): Promise<ConversationState> {
  const rows = await q.query<ConversationStateRow>({
    text: `SELECT ${CONVERSATION_STATE_COLUMNS}
           FROM conversations c LEFT JOIN messages m ON m.id = c.last_message_id
           WHERE c.id = $1`,
    values: [conversationId],
  });
  if (!rows[0]) throw Errors.conversationNotFound();
  return toConversationState(rows[0]);
}

/** The conversation as `userId` sees it; 404 when it does not exist, 403 when they are not a member. */
export async function conversationOf(q: Querier, conversationId: Id, userId: Id): Promise<Conversation> {
  const rows = await q.query<ConversationRow>({
    text: `SELECT ${CONVERSATION_COLUMNS}
           FROM conversations c
           LEFT JOIN conversation_participants p ON p.conversation_id = c.id AND p.user_id = $2
           LEFT JOIN messages m ON m.id = c.last_message_id
           WHERE c.id = $1`,
    values: [conversationId, userId],
  });
  const row = rows[0];
  if (!row) throw Errors.conversationNotFound();
  if (row.my_role === null) throw Errors.notParticipant();
  return toConversation(row);
}

/**
 * Every member's own view of the conversation (or only `userIds`'), grouped: members who see it alike (the same
 * unread count, role and mute) share one `conversation-updated` broadcast. One pass over the members.
 */
export async function memberViews(
  q: Querier,
  conversationId: Id,
  userIds: Id[] | null = null,
): Promise<MemberViewGroup[]> {
  const rows = await q.query<MemberViewRow & { user_ids: Id[] }>({
    text: `SELECT ${MEMBER_VIEW_COLUMNS}, array_agg(p.user_id ORDER BY p.user_id) AS user_ids
           FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id
           WHERE p.conversation_id = $1 AND ($2::bigint[] IS NULL OR p.user_id = ANY($2::bigint[]))
           GROUP BY 1, 2, 3, 4`,
    values: [conversationId, userIds],
  });
  return rows.map((row) => ({ view: toMemberView(row), user_ids: row.user_ids.map(Number) }));
}

/** The ids of a conversation's members, in id order. */
export async function memberIds(q: Querier, conversationId: Id): Promise<Id[]> {
  const rows = await q.query<{ user_id: Id }>({
    text: `SELECT user_id FROM conversation_participants WHERE conversation_id = $1 ORDER BY user_id`,
    values: [conversationId],
  });
  return rows.map((r) => Number(r.user_id));
}

/**
 * What a membership or group change did, read in its transaction: what the gateway needs to broadcast it (the
 * conversation after it, the actor's view unless they left, the added members' views, and the new presence
 * contacts when users joined a group within `presenceGroupMax` members).
 */
export async function changeOf(
  q: Querier,
  conversationId: Id,
  actorId: Id,
  done: { messages: Message[]; added: Id[]; removed: Id[] },
  presenceGroupMax: number,
): Promise<MembershipChange> {
  const { messages, added, removed } = done;
  const conversation = await conversationState(q, conversationId);
  return {
    messages,
    conversation,
    excluded_user_ids: removed,
    added_user_ids: added,
    removed_user_ids: removed,
    mine: removed.includes(actorId) ? null : await conversationOf(q, conversationId, actorId),
    added_views: added.length > 0 ? await memberViews(q, conversationId, added) : [],
    contacts:
      added.length > 0 && conversation.member_count <= presenceGroupMax
        ? { added, members: await memberIds(q, conversationId) }
        : null,
  };
}

/** Display names of users, for the text of system messages. */
export async function displayNames(q: Querier, userIds: Id[]): Promise<Map<Id, string>> {
  const rows = await q.query<{ id: Id; display_name: string }>({
    text: `SELECT id, display_name FROM users WHERE id = ANY($1::bigint[])`,
    values: [userIds],
  });
  return new Map(rows.map((r) => [r.id, r.display_name]));
}

/** "Ann, Bob and Carl", or "Ann, Bob and 998 others" for long lists. */
export function nameList(names: string[]): string {
  if (names.length <= 1) return names[0] ?? 'nobody';
  if (names.length <= 3) return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `${names.slice(0, 2).join(', ')} and ${names.length - 2} others`;
}
