// Wire models: what clients receive. Plain types only (no decorators), so browsers and the SDK can import them.

export type Id = number;
/** ISO 8601 timestamp in UTC. */
export type Timestamp = string;

export const MESSAGE_TYPES = ['text', 'image', 'file'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export interface User {
  id: Id;
  username: string;
  display_name: string;
  created_at: Timestamp;
}

export interface AuthTokens {
  access: string;
  refresh: string;
}

export interface AuthResult {
  user: User;
  tokens: AuthTokens;
}

/** The conversation as embedded in every message (seed 003). */
export interface ConversationRef {
  id: Id;
  /** The participant who created the conversation. */
  sender_id: Id;
  /** The other participant. */
  receiver_id: Id;
}

export interface Message {
  id: Id;
  sender_id: Id;
  conversation_id: Id;
  /** 1, 2, 3… within the conversation, without gaps, in commit order. */
  seq: number;
  timestamp: Timestamp;
  message_type: MessageType;
  content: string;
  client_message_id: string | null;
  conversation: ConversationRef;
}

export interface Conversation extends ConversationRef {
  created_at: Timestamp;
  last_seq: number;
  last_message: Message | null;
  /** Messages of others after the caller's read mark. */
  unread_count: number;
}

export interface ConversationPage {
  conversations: Conversation[];
  next_cursor: string | null;
}

export interface MessagePage {
  /** In ascending `seq`. */
  messages: Message[];
  has_more: boolean;
}

export interface ReadMark {
  conversationId: Id;
  /** The caller's read mark after the call. */
  seq: number;
}
