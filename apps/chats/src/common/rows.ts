import {
  conversationFor,
  type Attachment,
  type Conversation,
  type ConversationState,
  type ConversationType,
  type MemberRole,
  type MemberView,
  type Message,
  type MessageType,
  type Metadata,
  type ReactionCount,
  type SystemInfo,
  type User,
  type UserProfile,
  type UserRole,
} from '@parley/contracts';

// Row shapes of the raw queries (bigint columns arrive as numbers, see data-source.ts) and their wire forms.

export interface UserRow {
  id: number;
  username: string;
  display_name: string;
  created_at: Date;
}

/** Columns of `users` in the shape of UserRow (never the password hash). */
export const USER_COLUMNS = 'id, username, display_name, created_at';

/** A user's row with their role (seed 001). */
export type UserProfileRow = UserRow & { role: string | null };

export function toUserProfile(row: UserProfileRow): UserProfile {
  return { ...toUser(row), role: row.role as UserRole | null };
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    display_name: row.display_name,
    created_at: row.created_at.toISOString(),
  };
}

export interface MessageRow {
  id: number;
  conversation_id: number;
  seq: number;
  sender_id: number;
  message_type: string;
  content: string;
  client_message_id: string | null;
  created_at: Date;
  system: SystemInfo | null;
  version: number;
  edited_at: Date | null;
  deleted_at: Date | null;
  reply_to_id: number | null;
  attachments: Attachment[] | null;
  metadata: Metadata | null;
  reactions: Record<string, number> | null;
  /** Only in pages read for a user: their reactions (null when the message has none at all). */
  my_reactions?: string[] | null;
  conv_sender_id: number;
  conv_receiver_id: number | null;
}

/**
 * Columns of `messages m` joined with `conversations c`, in the shape of MessageRow. A message stored before
 * versions has none: its version is its seq (see the message-lifecycle migration).
 */
export const MESSAGE_COLUMNS = `m.id, m.conversation_id, m.seq, m.sender_id, m.message_type, m.content,
  m.client_message_id, m.created_at, m.system, coalesce(m.version, m.seq) AS version, m.edited_at, m.deleted_at,
  m.reply_to_id, m.attachments, m.metadata, m.reactions, c.sender_id AS conv_sender_id,
  c.receiver_id AS conv_receiver_id`;

/**
 * The caller's own reactions to message `m`, as `my_reactions`, in a statement whose `$2` is the caller: one range of
 * the reactions key, and none for a message without reactions.
 */
export const MY_REACTIONS_COLUMN = `CASE WHEN m.reactions IS NOT NULL THEN ARRAY(SELECT r.emoji
  FROM message_reactions r WHERE r.message_id = m.id AND r.user_id = $2 ORDER BY r.created_at, r.emoji)
  END AS my_reactions`;

/** The counts per emoji as the wire has them: most used first (ties in emoji order, so every reader agrees). */
export function reactionCounts(reactions: Record<string, number> | null): ReactionCount[] {
  if (!reactions) return [];
  return Object.entries(reactions)
    .map(([emoji, count]) => ({ emoji, count: Number(count) }))
    .sort((a, b) => b.count - a.count || (a.emoji < b.emoji ? -1 : a.emoji > b.emoji ? 1 : 0));
}

export function toMessage(row: MessageRow): Message {
  const message: Message = {
    id: row.id,
    sender_id: row.sender_id,
    conversation_id: row.conversation_id,
    seq: row.seq,
    timestamp: row.created_at.toISOString(),
    message_type: row.message_type as MessageType,
    content: row.content,
    client_message_id: row.client_message_id,
    conversation: {
      id: row.conversation_id,
      sender_id: row.conv_sender_id,
      receiver_id: row.conv_receiver_id,
    },
    version: row.version,
    edited_at: row.edited_at ? row.edited_at.toISOString() : null,
    deleted_at: row.deleted_at ? row.deleted_at.toISOString() : null,
    reply_to_id: row.reply_to_id,
    attachments: row.attachments ?? [],
    metadata: row.metadata ?? {},
    reactions: reactionCounts(row.reactions),
  };
  if (row.my_reactions !== undefined) message.my_reactions = row.my_reactions ?? [];
  if (row.system) message.system = row.system;
  return message;
}

/** The fields of a conversation that are the same for every member (`c`, and its latest message `m`). */
export interface ConversationStateRow {
  id: number;
  sender_id: number;
  receiver_id: number | null;
  created_at: Date;
  last_seq: number;
  type: ConversationType;
  title: string | null;
  member_count: number;
  metadata: Metadata;
  version: number;
  m_id: number | null;
  m_seq: number | null;
  m_sender_id: number | null;
  m_message_type: string | null;
  m_content: string | null;
  m_client_message_id: string | null;
  m_created_at: Date | null;
  m_system: SystemInfo | null;
  m_version: number | null;
  m_edited_at: Date | null;
  m_deleted_at: Date | null;
  m_reply_to_id: number | null;
  m_attachments: Attachment[] | null;
  m_metadata: Metadata | null;
  m_reactions: Record<string, number> | null;
}

/** ConversationStateRow and the caller's own fields; `my_role` is null when the caller is not a member. */
export interface ConversationRow extends ConversationStateRow, MemberViewRow {
  activity?: number;
}

/** One member's own fields of a conversation. */
export interface MemberViewRow {
  unread: number | null;
  my_role: MemberRole | null;
  muted: boolean | null;
  muted_until: Date | null;
}

/** Columns of `conversations c` and its latest `messages m`, in the shape of ConversationStateRow. */
export const CONVERSATION_STATE_COLUMNS = `c.id, c.sender_id, c.receiver_id, c.created_at, c.last_seq, c.type,
  c.title, c.member_count, c.metadata, c.version, m.id AS m_id, m.seq AS m_seq, m.sender_id AS m_sender_id,
  m.message_type AS m_message_type, m.content AS m_content, m.client_message_id AS m_client_message_id,
  m.created_at AS m_created_at, m.system AS m_system, coalesce(m.version, m.seq) AS m_version,
  m.edited_at AS m_edited_at, m.deleted_at AS m_deleted_at, m.reply_to_id AS m_reply_to_id,
  m.attachments AS m_attachments, m.metadata AS m_metadata, m.reactions AS m_reactions`;

/**
 * Columns of a member's own view, from `conversations c` and their `conversation_participants p`. Unread is the
 * difference of two totals (see ParticipantEntity.readTotal): O(1), and system messages never count. A send moves
 * the sender's own mark, so nothing after a user's mark is theirs and own messages never count as unread.
 */
export const MEMBER_VIEW_COLUMNS = `c.unread_total - p.read_total AS unread, p.role AS my_role,
  (p.muted AND (p.muted_until IS NULL OR p.muted_until > now())) AS muted,
  CASE WHEN p.muted AND p.muted_until > now() THEN p.muted_until END AS muted_until`;

/** Both, for `c`, `p` (the caller's row, LEFT JOINed: null when not a member) and `m`. */
export const CONVERSATION_COLUMNS = `${CONVERSATION_STATE_COLUMNS}, ${MEMBER_VIEW_COLUMNS}`;

export function toConversationState(row: ConversationStateRow): ConversationState {
  const ref = { id: row.id, sender_id: row.sender_id, receiver_id: row.receiver_id };
  return {
    ...ref,
    created_at: row.created_at.toISOString(),
    last_seq: row.last_seq,
    last_message:
      row.m_id === null
        ? null
        : toMessage({
            id: row.m_id,
            conversation_id: row.id,
            seq: row.m_seq!,
            sender_id: row.m_sender_id!,
            message_type: row.m_message_type!,
            content: row.m_content!,
            client_message_id: row.m_client_message_id,
            created_at: row.m_created_at!,
            system: row.m_system,
            version: row.m_version!,
            edited_at: row.m_edited_at,
            deleted_at: row.m_deleted_at,
            reply_to_id: row.m_reply_to_id,
            attachments: row.m_attachments,
            metadata: row.m_metadata,
            reactions: row.m_reactions,
            conv_sender_id: row.sender_id,
            conv_receiver_id: row.receiver_id,
          }),
    type: row.type,
    title: row.title,
    member_count: row.member_count,
    metadata: row.metadata,
    version: row.version,
  };
}

export function toMemberView(row: MemberViewRow): MemberView {
  return {
    unread_count: Math.max(0, row.unread ?? 0),
    my_role: row.my_role ?? 'member',
    muted: row.muted ?? false,
    muted_until: row.muted_until ? row.muted_until.toISOString() : null,
  };
}

/** The conversation as one member sees it: the seed's fields first, then the group and member fields. */
export function toConversation(row: ConversationRow): Conversation {
  return conversationFor(toConversationState(row), toMemberView(row));
}

/** Postgres error code of a failed query, if any. */
export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
