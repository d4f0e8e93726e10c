import Type, { type Static, type TSchema } from 'typebox';
import type { Conversation, ConversationPage, Id, Message, MessagePage, User } from '../wire/models.js';
import { Limits } from '../wire/limits.js';
import { MESSAGE_TYPES } from '../wire/models.js';

/** Name of the chats service on the RPC transport (stream `<prefix>rpc:chats`, consumer group `chats`). */
export const CHATS_SERVICE = 'chats';

// ---- request schemas -------------------------------------------------------------------------------------------
// Every request the gateway makes of the chats service, as a JSON Schema (TypeBox) from which its TypeScript type
// is derived: the chats service validates each request against it before any work (a compiled check), so a bug or
// a hostile writer on the Redis stream cannot hand a handler a value of the wrong shape.

const closed = { additionalProperties: false } as const;
const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Uuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/** Text Postgres can store as given (no NUL). */
const Text = (maxLength: number, minLength = 0) =>
  Type.String({ minLength, maxLength, pattern: '^[^\\u0000]*$' });
const Username = Type.String({
  minLength: Limits.usernameMinLength,
  maxLength: Limits.usernameMaxLength,
  pattern: Limits.usernamePattern.source,
});
const Limit = Type.Integer({ minimum: 1, maximum: Limits.pageSizeMax + 1 });
const MessageTypeSchema = Type.Union([Type.Literal('text'), Type.Literal('image'), Type.Literal('file')]);
// The schema names exactly the wire's message types.
type SameTypes<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const messageTypesMatch: SameTypes<
  Static<typeof MessageTypeSchema>,
  (typeof MESSAGE_TYPES)[number]
> = true;

/**
 * The session a login or registration starts. The gateway names it (and its first refresh token), so a request
 * that is delivered twice (its consumer died after committing) starts the same session, not a second one.
 */
const SessionStart = Type.Object(
  { id: Uuid, jti: Uuid, ttl_seconds: Type.Integer({ minimum: 1, maximum: 366 * 86_400 }) },
  closed,
);

const History = Type.Union([
  Type.Object(
    { user_id: Id, conversation_id: Id, limit: Limit, mode: Type.Literal('page'), page: Id },
    closed,
  ),
  Type.Object(
    { user_id: Id, conversation_id: Id, limit: Limit, mode: Type.Literal('before'), before_seq: Id },
    closed,
  ),
  Type.Object(
    { user_id: Id, conversation_id: Id, limit: Limit, mode: Type.Literal('after'), after_seq: Count },
    closed,
  ),
]);

export const ChatsRpcRequests = {
  /** Hashes the password (in the chats service: hashes never cross the RPC) and starts the first session. */
  'users.register': Type.Object(
    {
      username: Username,
      password: Text(Limits.passwordMaxLength, Limits.passwordMinLength),
      display_name: Nullable(Text(Limits.displayNameMaxLength, 1)),
      session: SessionStart,
    },
    closed,
  ),
  /** Verifies the password and starts a session; INVALID_CREDENTIALS (401) for an unknown user or a wrong one. */
  'users.login': Type.Object(
    { username: Text(128, 1), password: Text(1024, 1), session: SessionStart },
    closed,
  ),
  'users.get': Type.Object({ user_id: Id }, closed),
  'users.find-by-username': Type.Object({ username: Username }, closed),
  /** Everyone who shares a conversation with the user: the audience of their presence. */
  'users.contacts': Type.Object({ user_id: Id }, closed),

  /**
   * Uses a refresh token (`jti`, of session `session_id`; null for tokens issued before sessions had ids) and makes
   * `new_jti` its successor. The just-replaced token used again within `grace_seconds` gets the current one back
   * (two tabs refreshing at once); any other replay ends the session.
   */
  'sessions.rotate': Type.Object(
    {
      user_id: Id,
      session_id: Nullable(Uuid),
      jti: Uuid,
      new_jti: Uuid,
      ttl_seconds: Type.Integer({ minimum: 1, maximum: 366 * 86_400 }),
      grace_seconds: Type.Integer({ minimum: 0, maximum: 3600 }),
    },
    closed,
  ),
  /** Ends one session of the user (logout). */
  'sessions.end': Type.Object({ user_id: Id, session_id: Uuid }, closed),
  /** Ends every session of the user (logout everywhere). */
  'sessions.end-all': Type.Object({ user_id: Id }, closed),
  /** Sessions ended in the last `seconds` (a gateway starting up learns which access tokens to refuse). */
  'sessions.ended-since': Type.Object(
    {
      seconds: Type.Integer({ minimum: 1, maximum: 7 * 86_400 }),
      limit: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    },
    closed,
  ),

  'conversations.create': Type.Object({ user_id: Id, receiver_id: Id }, closed),
  'conversations.list': Type.Object({ user_id: Id, cursor: Nullable(Text(200, 1)), limit: Limit }, closed),
  'conversations.get': Type.Object({ user_id: Id, conversation_id: Id }, closed),
  /** Checks that the user may join and returns where the conversation and their read mark stand. */
  'conversations.membership': Type.Object({ user_id: Id, conversation_id: Id }, closed),
  'conversations.mark-read': Type.Object({ user_id: Id, conversation_id: Id, seq: Nullable(Count) }, closed),

  /**
   * `request_id` (a UUID per request, the same on a redelivery) keeps a send without `client_message_id` from being
   * stored twice when its consumer dies after the commit and another one handles it again.
   */
  'messages.send': Type.Object(
    {
      sender_id: Id,
      conversation_id: Id,
      message_type: MessageTypeSchema,
      content: Text(100_000),
      client_message_id: Nullable(Text(Limits.clientMessageIdMaxLength, 1)),
      request_id: Uuid,
    },
    closed,
  ),
  'messages.history': History,
};

export type ChatsPattern = keyof typeof ChatsRpcRequests;
export type RpcRequest<P extends ChatsPattern> = Static<(typeof ChatsRpcRequests)[P]>;
export type HistoryRequest = Static<typeof History>;

/** Reads: under overload the chats service sheds these first (a shorter queue limit than writes). */
export const CHATS_READ_PATTERNS: ReadonlySet<ChatsPattern> = new Set<ChatsPattern>([
  'users.get',
  'users.find-by-username',
  'users.contacts',
  'sessions.ended-since',
  'conversations.list',
  'conversations.get',
  'messages.history',
]);

// ---- responses -------------------------------------------------------------------------------------------------

/** A session as the gateway needs it to sign tokens: its id and its current refresh token's id. */
export interface SessionTokens {
  session_id: string;
  jti: string;
}

export interface ChatsRpcResponses {
  'users.register': { user: User };
  'users.login': { user: User };
  'users.get': User;
  'users.find-by-username': User;
  'users.contacts': { user_ids: Id[] };
  /**
   * `rotated`: `jti` is the new current token; `current`: a replay within the grace, `jti` is the current token;
   * `refused`: unknown, expired or ended, or a replay (then `ended_session_id` names the session it ended).
   */
  'sessions.rotate':
    | ({ status: 'rotated' | 'current' } & SessionTokens)
    | { status: 'refused'; ended_session_id: string | null };
  'sessions.end': { ended: string[] };
  'sessions.end-all': { ended: string[] };
  'sessions.ended-since': { sessions: { id: string; user_id: Id }[] };
  'conversations.create': { conversation: Conversation; created: boolean };
  'conversations.list': ConversationPage;
  'conversations.get': Conversation;
  'conversations.membership': {
    conversation_id: Id;
    last_seq: number;
    last_read_seq: number;
    participant_ids: Id[];
  };
  'conversations.mark-read': { conversation_id: Id; seq: number; moved: boolean };
  'messages.send': SendMessageResult;
  'messages.history': MessagePage;
}

export type RpcResponse<P extends ChatsPattern> = ChatsRpcResponses[P];

export interface SendMessageResult {
  message: Message;
  /** False when `client_message_id` matched an earlier message, which is returned instead (nothing new stored). */
  created: boolean;
  /** Each participant's read mark after the send, for their `conversation-updated` event. */
  participants: { user_id: Id; last_read_seq: number }[];
  /** Conversation fields needed to build `conversation-updated` without another round trip. */
  conversation: Omit<Conversation, 'unread_count'>;
}
