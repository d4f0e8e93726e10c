import type {
  Attachment,
  Conversation,
  Id,
  Message,
  MessageChange,
  Metadata,
  SendableMessageType,
} from './models.js';

/** The Socket.IO namespace of the chat. */
export const CHAT_NAMESPACE = '/chat';

/** Room names. Every socket joins `user:<id>` on connect; `conversation:<id>` on `join-conversation`. */
export const Rooms = {
  user: (userId: Id) => `user:${userId}`,
  conversation: (conversationId: Id) => `conversation:${conversationId}`,
} as const;

export const ClientEvent = {
  SendMessage: 'send-message',
  JoinConversation: 'join-conversation',
  LeaveConversation: 'leave-conversation',
  Typing: 'typing',
  MarkRead: 'mark-read',
  Authenticate: 'authenticate',
  EditMessage: 'edit-message',
  DeleteMessage: 'delete-message',
  React: 'react',
} as const;

export const ServerEvent = {
  ReceiveMessage: 'receive-message',
  MessageSent: 'message-sent',
  MessageError: 'message-error',
  JoinedConversation: 'joined-conversation',
  RecentMessages: 'recent-messages',
  UserTyping: 'user-typing',
  MessagesRead: 'messages-read',
  UserOnline: 'user:online',
  UserOffline: 'user:offline',
  ConversationUpdated: 'conversation-updated',
  ConversationRemoved: 'conversation-removed',
  MessageUpdated: 'message-updated',
  Error: 'error',
} as const;

// Client → server payloads (validated by the DTOs in `socket/payloads.dto.ts`).
export interface SendMessagePayload {
  sender_id: Id;
  conversation_id: Id;
  message_type: SendableMessageType;
  content: string;
  client_message_id?: string;
  reply_to_id?: Id;
  attachments?: Attachment[];
  metadata?: Metadata;
}
export interface JoinConversationPayload {
  conversationId: Id;
  userId: Id;
  /** Catch up on the messages after this seq (new ones only). */
  since_seq?: number;
  /** Catch up on every message created or changed after this version (not with since_seq). */
  since_version?: number;
}
export interface EditMessagePayload {
  conversationId: Id;
  messageId: Id;
  content: string;
}
export interface DeleteMessagePayload {
  conversationId: Id;
  messageId: Id;
}
/** Adds (`add: true`) or removes the caller's reaction `emoji`. */
export interface ReactPayload {
  conversationId: Id;
  messageId: Id;
  emoji: string;
  add: boolean;
}
export interface LeaveConversationPayload {
  conversationId: Id;
}
export interface TypingPayload {
  conversationId: Id;
  userId: Id;
  isTyping: boolean;
}
export interface MarkReadPayload {
  conversationId: Id;
  seq?: number;
}
/** A fresh access token of the same user, sent before the current one expires, so the socket stays open. */
export interface AuthenticatePayload {
  token: string;
}

// Acknowledgements: every client event takes an optional callback that receives one of these.
export interface AckFailure {
  success: false;
  error: string;
}
export type Ack<T extends object = object> = ({ success: true } & T) | AckFailure;
export type SendMessageAck = Ack<{ message: Message }>;
export type JoinConversationAck = Ack<{
  conversationId: Id;
  last_seq: number;
  last_read_seq: number;
  version: number;
}>;
/** The message after the change (unchanged when there was nothing to change, e.g. a reaction already there). */
export type MessageChangeAck = Ack<{ message: Message }>;
export type LeaveConversationAck = Ack<{ conversationId: Id }>;
export type TypingAck = Ack<{ conversationId: Id }>;
export type MarkReadAck = Ack<{ conversationId: Id; seq: number }>;
/** `expires_at`: when the socket is closed unless it authenticates again (the new token's `exp`). */
export type AuthenticateAck = Ack<{ expires_at: string }>;

// Server → client payloads.
export interface MessageErrorEvent {
  error: string;
  client_message_id?: string | null;
}
export interface JoinedConversationEvent {
  conversationId: Id;
  success: true;
  last_seq: number;
  version: number;
}
export interface RecentMessagesEvent {
  conversationId: Id;
  /** Ascending seq; ascending version for a catch-up by `since_version`. */
  messages: Message[];
  /** More messages lie beyond these (page on over REST). */
  has_more: boolean;
}
export interface UserTypingEvent {
  conversationId: Id;
  userId: Id;
  isTyping: boolean;
}
export interface MessagesReadEvent {
  conversationId: Id;
  userId: Id;
  seq: number;
}
export interface PresenceEvent {
  userId: Id;
}
export interface ConversationUpdatedEvent {
  conversation: Conversation;
}
/** The caller left or was removed from the conversation: its room is left on every socket, its list entry goes. */
export interface ConversationRemovedEvent {
  conversationId: Id;
}
/** A message was edited, deleted or reacted to: `message` is its state after `change`. */
export interface MessageUpdatedEvent {
  message: Message;
  change: MessageChange;
}
export interface ErrorEvent {
  message: string;
}

/** Both directions of the wire, for `Server<ClientToServerEvents, ServerToClientEvents>` and `Socket<…>` alike. */
export interface ClientToServerEvents {
  'send-message': (payload: SendMessagePayload, ack?: (response: SendMessageAck) => void) => void;
  'join-conversation': (
    payload: JoinConversationPayload,
    ack?: (response: JoinConversationAck) => void,
  ) => void;
  'leave-conversation': (
    payload: LeaveConversationPayload,
    ack?: (response: LeaveConversationAck) => void,
  ) => void;
  typing: (payload: TypingPayload, ack?: (response: TypingAck) => void) => void;
  'mark-read': (payload: MarkReadPayload, ack?: (response: MarkReadAck) => void) => void;
  authenticate: (payload: AuthenticatePayload, ack?: (response: AuthenticateAck) => void) => void;
  'edit-message': (payload: EditMessagePayload, ack?: (response: MessageChangeAck) => void) => void;
  'delete-message': (payload: DeleteMessagePayload, ack?: (response: MessageChangeAck) => void) => void;
  react: (payload: ReactPayload, ack?: (response: MessageChangeAck) => void) => void;
}

export interface ServerToClientEvents {
  'receive-message': (message: Message) => void;
  'message-sent': (message: Message) => void;
  'message-error': (event: MessageErrorEvent) => void;
  'joined-conversation': (event: JoinedConversationEvent) => void;
  'recent-messages': (event: RecentMessagesEvent) => void;
  'user-typing': (event: UserTypingEvent) => void;
  'messages-read': (event: MessagesReadEvent) => void;
  'user:online': (event: PresenceEvent) => void;
  'user:offline': (event: PresenceEvent) => void;
  'conversation-updated': (event: ConversationUpdatedEvent) => void;
  'conversation-removed': (event: ConversationRemovedEvent) => void;
  'message-updated': (event: MessageUpdatedEvent) => void;
  error: (event: ErrorEvent) => void;
}
