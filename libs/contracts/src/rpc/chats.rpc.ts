import type {
  Conversation,
  ConversationPage,
  Id,
  Message,
  MessagePage,
  MessageType,
  User,
} from '../wire/models.js';

/** Name of the chats service on the RPC transport (stream `<prefix>rpc:chats`, consumer group `chats`). */
export const CHATS_SERVICE = 'chats';

/** Every request the gateway makes of the chats service: pattern → request and response types. */
export interface ChatsRpc {
  'users.register': {
    request: { username: string; password_hash: string; display_name: string | null };
    response: User;
  };
  /** The user and the password hash to verify, or null when the username is unknown. */
  'users.find-credentials': {
    request: { username: string };
    response: { user: User; password_hash: string } | null;
  };
  'users.get': { request: { user_id: Id }; response: User };
  'users.find-by-username': { request: { username: string }; response: User };
  /** Everyone who shares a conversation with the user: the audience of their presence. */
  'users.contacts': { request: { user_id: Id }; response: { user_ids: Id[] } };

  /** Stores a new refresh token (a new family unless `family_id` is given). */
  'tokens.issue': {
    request: { user_id: Id; ttl_seconds: number };
    response: { jti: string; expires_at: string };
  };
  /**
   * Uses a refresh token once and issues its successor in the same family. A token used twice (a replay after
   * rotation) revokes the whole family and fails.
   */
  'tokens.rotate': {
    request: { jti: string; user_id: Id; ttl_seconds: number };
    response: { jti: string; expires_at: string };
  };

  'conversations.create': {
    request: { user_id: Id; receiver_id: Id };
    response: { conversation: Conversation; created: boolean };
  };
  'conversations.list': {
    request: { user_id: Id; cursor: string | null; limit: number };
    response: ConversationPage;
  };
  'conversations.get': { request: { user_id: Id; conversation_id: Id }; response: Conversation };
  /** Checks that the user may join and returns where the conversation and their read mark stand. */
  'conversations.membership': {
    request: { user_id: Id; conversation_id: Id };
    response: { conversation_id: Id; last_seq: number; last_read_seq: number; participant_ids: Id[] };
  };
  'conversations.mark-read': {
    request: { user_id: Id; conversation_id: Id; seq: number | null };
    response: { conversation_id: Id; seq: number; moved: boolean };
  };

  'messages.send': {
    request: {
      sender_id: Id;
      conversation_id: Id;
      message_type: MessageType;
      content: string;
      client_message_id: string | null;
    };
    response: SendMessageResult;
  };
  'messages.history': {
    request: HistoryRequest;
    response: MessagePage;
  };
}

export type ChatsPattern = keyof ChatsRpc;
export type RpcRequest<P extends ChatsPattern> = ChatsRpc[P]['request'];
export type RpcResponse<P extends ChatsPattern> = ChatsRpc[P]['response'];

export interface SendMessageResult {
  message: Message;
  /** False when `client_message_id` matched an earlier message, which is returned instead (nothing new stored). */
  created: boolean;
  /** Each participant's read mark after the send, for their `conversation-updated` event. */
  participants: { user_id: Id; last_read_seq: number }[];
  /** Conversation fields needed to build `conversation-updated` without another round trip. */
  conversation: Omit<Conversation, 'unread_count'>;
}

export type HistoryRequest = { user_id: Id; conversation_id: Id; limit: number } & (
  | { mode: 'page'; page: number }
  | { mode: 'before'; before_seq: number }
  | { mode: 'after'; after_seq: number }
);
