import type { Conversation, Message, MessageType, User } from '@parley/contracts';

// Row shapes of the raw queries (bigint columns arrive as numbers, see data-source.ts) and their wire forms.

export interface UserRow {
  id: number;
  username: string;
  display_name: string;
  created_at: Date;
}

/** Columns of `users` in the shape of UserRow (never the password hash). */
export const USER_COLUMNS = 'id, username, display_name, created_at';

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
  conv_sender_id: number;
  conv_receiver_id: number;
}

/** Columns of `messages m` joined with `conversations c`, in the shape of MessageRow. */
export const MESSAGE_COLUMNS = `m.id, m.conversation_id, m.seq, m.sender_id, m.message_type, m.content,
  m.client_message_id, m.created_at, c.sender_id AS conv_sender_id, c.receiver_id AS conv_receiver_id`;

export function toMessage(row: MessageRow): Message {
  return {
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
  };
}

export interface ConversationRow {
  id: number;
  sender_id: number;
  receiver_id: number;
  created_at: Date;
  last_seq: number;
  /** null when the caller is not a participant. */
  last_read_seq: number | null;
  activity?: number;
  m_id: number | null;
  m_seq: number | null;
  m_sender_id: number | null;
  m_message_type: string | null;
  m_content: string | null;
  m_client_message_id: string | null;
  m_created_at: Date | null;
}

/**
 * Columns of `conversations c`, the caller's `conversation_participants p` and the latest `messages m`.
 * Unread is `last_seq - last_read_seq`: a send moves the sender's own mark, so nothing after a user's mark is
 * theirs and own messages never count as unread.
 */
export const CONVERSATION_COLUMNS = `c.id, c.sender_id, c.receiver_id, c.created_at, c.last_seq, p.last_read_seq,
  m.id AS m_id, m.seq AS m_seq, m.sender_id AS m_sender_id, m.message_type AS m_message_type,
  m.content AS m_content, m.client_message_id AS m_client_message_id, m.created_at AS m_created_at`;

export function toConversation(row: ConversationRow): Conversation {
  const ref = { id: row.id, sender_id: row.sender_id, receiver_id: row.receiver_id };
  return {
    ...ref,
    created_at: row.created_at.toISOString(),
    last_seq: row.last_seq,
    last_message:
      row.m_id === null
        ? null
        : {
            id: row.m_id,
            sender_id: row.m_sender_id!,
            conversation_id: row.id,
            seq: row.m_seq!,
            timestamp: row.m_created_at!.toISOString(),
            message_type: row.m_message_type as MessageType,
            content: row.m_content!,
            client_message_id: row.m_client_message_id,
            conversation: ref,
          },
    unread_count: Math.max(0, row.last_seq - (row.last_read_seq ?? row.last_seq)),
  };
}

/** Postgres error code of a failed query, if any. */
export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
