import Type, { type Static, type TSchema } from 'typebox';
import type {
  Conversation,
  ConversationPage,
  Id,
  MemberPage,
  Message,
  MessageChange,
  MessagePage,
  UnreadSummary,
  User,
  UserProfile,
} from '../wire/models.js';
import { Limits } from '../wire/limits.js';
import type { RpcErrorBody } from '../wire/errors.js';
import { ATTACHMENT_TYPES, MESSAGE_TYPES } from '../wire/models.js';
import {
  WEBHOOK_EVENT_TYPES,
  webhookLimits,
  type WebhookDeadLetter,
  type WebhookEndpoint,
  type WebhookEventType,
} from '../wire/webhooks.js';
import { PushLimits } from '../push/push.js';

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
const UserRoleSchema = Type.Union([
  Type.Literal('STUDENT'),
  Type.Literal('TEACHER'),
  Type.Literal('TRAINER'),
]);
const WebhookUrl = Type.String({ maxLength: webhookLimits.urlMaxLength, pattern: '^https?://[^\\s]+$' });
const WebhookEvents = Type.Array(
  Type.Unsafe<WebhookEventType>(Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t)))),
  {
    minItems: 1,
    maxItems: WEBHOOK_EVENT_TYPES.length,
    uniqueItems: true,
  },
);
const MessageTypeSchema = Type.Union([Type.Literal('text'), Type.Literal('image'), Type.Literal('file')]);
// The schemas name exactly the wire's message and attachment types.
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

/** A conversation's metadata: the gateway checked its size and depth; here only that it is an object. */
const MetadataSchema = Type.Record(Type.String({ maxLength: 256 }), Type.Unknown());
const Title = Text(Limits.titleMaxLength, 1);
const Timestamp = Type.String({
  maxLength: 40,
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$',
});
/** The members a request names, each once (the gateway de-duplicates). */
const UserIds = Type.Array(Id, { minItems: 1, maxItems: Limits.groupMembersMax, uniqueItems: true });

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
  /** Every message created or changed after `after_version`, ascending by version. */
  Type.Object(
    { user_id: Id, conversation_id: Id, limit: Limit, mode: Type.Literal('version'), after_version: Count },
    closed,
  ),
]);

/** An attachment as the gateway validated it (http(s) URL, lengths); here its shape. */
const AttachmentSchema = Type.Object(
  {
    type: Type.Union([
      Type.Literal('image'),
      Type.Literal('video'),
      Type.Literal('audio'),
      Type.Literal('file'),
    ]),
    url: Text(Limits.urlMaxLength, 1),
    name: Type.Optional(Text(Limits.attachmentNameMaxLength)),
    mime_type: Type.Optional(Text(Limits.mimeTypeMaxLength)),
    size: Type.Optional(Count),
    width: Type.Optional(Type.Integer({ minimum: 1, maximum: Limits.attachmentDimensionMax })),
    height: Type.Optional(Type.Integer({ minimum: 1, maximum: Limits.attachmentDimensionMax })),
  },
  closed,
);
export const attachmentTypesMatch: SameTypes<
  Static<typeof AttachmentSchema>['type'],
  (typeof ATTACHMENT_TYPES)[number]
> = true;
/** A change of one message of the conversation, by `user_id`. */
const MessageTarget = { user_id: Id, conversation_id: Id, message_id: Id };

/** The most sends a gateway puts in one `messages.send-batch` request. */
export const SEND_BATCH_MAX = 64;

/**
 * `request_id` (a UUID per request, the same on a redelivery) keeps a send without `client_message_id` from being
 * stored twice when its consumer dies after the commit and another one handles it again.
 */
const SendMessage = Type.Object(
  {
    sender_id: Id,
    conversation_id: Id,
    message_type: MessageTypeSchema,
    content: Text(100_000),
    client_message_id: Nullable(Text(Limits.clientMessageIdMaxLength, 1)),
    request_id: Uuid,
    // Optional: a gateway of the previous release (a rolling upgrade) sends none of them.
    reply_to_id: Type.Optional(Nullable(Id)),
    attachments: Type.Optional(Type.Array(AttachmentSchema, { maxItems: Limits.attachmentsMax })),
    metadata: Type.Optional(Nullable(MetadataSchema)),
  },
  closed,
);

export const ChatsRpcRequests = {
  /** Hashes the password (in the chats service: hashes never cross the RPC) and starts the first session. */
  'users.register': Type.Object(
    {
      username: Username,
      password: Text(Limits.passwordMaxLength, Limits.passwordMinLength),
      display_name: Nullable(Text(Limits.displayNameMaxLength, 1)),
      /** Optional, unique without case; seed 004's clients log in with it. */
      email: Type.Optional(Nullable(Text(Limits.emailMaxLength, 3))),
      session: SessionStart,
    },
    closed,
  ),
  /**
   * Verifies the password and starts a session; INVALID_CREDENTIALS (401) for an unknown user or a wrong one. The
   * user is named by `username`, or by `email` (seed 004's login) when that is given instead.
   */
  'users.login': Type.Object(
    {
      username: Type.Optional(Text(128, 1)),
      email: Type.Optional(Text(Limits.emailMaxLength, 1)),
      password: Text(1024, 1),
      session: SessionStart,
    },
    closed,
  ),
  'users.get': Type.Object({ user_id: Id }, closed),
  /** The public profiles of up to 100 users (those that exist, in no particular order). */
  'users.get-many': Type.Object(
    { user_ids: Type.Array(Id, { minItems: 1, maxItems: Limits.pageSizeMax, uniqueItems: true }) },
    closed,
  ),
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

  /** The direct conversation of the pair, created when missing; refused between users where either blocked the other. */
  'conversations.create': Type.Object({ user_id: Id, receiver_id: Id }, closed),
  /**
   * A group of the caller (its owner) and `member_ids`, with its `created` system message (seq 1). `request_id` (the
   * same on a redelivery) makes it idempotent: a request handled twice creates one group.
   */
  'conversations.create-group': Type.Object(
    {
      user_id: Id,
      title: Title,
      member_ids: Type.Array(Id, { maxItems: Limits.groupMembersMax }),
      metadata: MetadataSchema,
      request_id: Uuid,
    },
    closed,
  ),
  /** Title and/or metadata of a group (owner and admins): a `group_updated` system message. */
  'conversations.update': Type.Object(
    {
      user_id: Id,
      conversation_id: Id,
      title: Type.Optional(Title),
      metadata: Type.Optional(MetadataSchema),
    },
    closed,
  ),
  /** The caller mutes the conversation, until `until` or (null) until unmuted. */
  'conversations.mute': Type.Object({ user_id: Id, conversation_id: Id, until: Nullable(Timestamp) }, closed),
  'conversations.unmute': Type.Object({ user_id: Id, conversation_id: Id }, closed),
  'conversations.unread': Type.Object({ user_id: Id }, closed),
  /**
   * The state `conversation-updated` needs for every member of a conversation, grouped by what differs between
   * members (coalesced updates of large groups).
   */
  'conversations.member-views': Type.Object({ conversation_id: Id }, closed),
  'members.list': Type.Object(
    { user_id: Id, conversation_id: Id, cursor: Nullable(Text(200, 1)), limit: Limit },
    closed,
  ),
  'members.add': Type.Object({ user_id: Id, conversation_id: Id, user_ids: UserIds }, closed),
  /** Removes `member_id` (the caller themself: leaving). */
  'members.remove': Type.Object({ user_id: Id, conversation_id: Id, member_id: Id }, closed),
  'members.set-role': Type.Object(
    {
      user_id: Id,
      conversation_id: Id,
      member_id: Id,
      role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
    },
    closed,
  ),
  'users.block': Type.Object({ user_id: Id, target_id: Id }, closed),
  'users.unblock': Type.Object({ user_id: Id, target_id: Id }, closed),
  'users.blocks': Type.Object({ user_id: Id }, closed),
  /** Seed 001 (the admin API): a user's role, or none. */
  'users.set-role': Type.Object({ user_id: Id, role: Nullable(UserRoleSchema) }, closed),
  /** Seed 001 (the admin API): `mentor_id` (a TEACHER or TRAINER) becomes the student's mentor, or none (null). */
  'mentors.assign': Type.Object({ student_id: Id, mentor_id: Nullable(Id) }, closed),
  /** The mentor assigned to the student, if any. */
  'mentors.of': Type.Object({ student_id: Id }, closed),
  'conversations.list': Type.Object({ user_id: Id, cursor: Nullable(Text(200, 1)), limit: Limit }, closed),
  'conversations.get': Type.Object({ user_id: Id, conversation_id: Id }, closed),
  /**
   * Checks that the user is a member and returns where the conversation and their read mark stand, and whether
   * the two users of a direct conversation blocked each other (no typing then).
   */
  'conversations.membership': Type.Object({ user_id: Id, conversation_id: Id }, closed),
  'conversations.mark-read': Type.Object({ user_id: Id, conversation_id: Id, seq: Nullable(Count) }, closed),

  'messages.send': SendMessage,
  /**
   * The sends one gateway received in one event-loop turn, in one stream entry: stored together (one transaction
   * where they can be) and answered in one reply, each send with its own result or error, in the order given.
   */
  'messages.send-batch': Type.Object(
    { requests: Type.Array(SendMessage, { minItems: 1, maxItems: SEND_BATCH_MAX }) },
    closed,
  ),
  'messages.history': History,
  /** The author replaces a text message's content. */
  'messages.edit': Type.Object({ ...MessageTarget, content: Text(100_000) }, closed),
  /** The author, or a group's owner or admins, leave a tombstone in the message's place. */
  'messages.delete': Type.Object(MessageTarget, closed),
  /** Adds or removes the user's reaction `emoji` (once per user and emoji). */
  'messages.react': Type.Object(
    { ...MessageTarget, emoji: Text(Limits.emojiMaxLength, 1), add: Type.Boolean() },
    closed,
  ),

  // The admin API's webhook endpoints (the gateway checks the admin token).
  'webhooks.create': Type.Object(
    {
      url: WebhookUrl,
      events: WebhookEvents,
      description: Nullable(Text(webhookLimits.descriptionMaxLength)),
      enabled: Type.Boolean(),
    },
    closed,
  ),
  'webhooks.list': Type.Object({}, closed),
  'webhooks.get': Type.Object({ id: Id }, closed),
  'webhooks.update': Type.Object(
    {
      id: Id,
      url: Type.Optional(WebhookUrl),
      events: Type.Optional(WebhookEvents),
      description: Type.Optional(Nullable(Text(webhookLimits.descriptionMaxLength))),
      enabled: Type.Optional(Type.Boolean()),
    },
    closed,
  ),
  'webhooks.delete': Type.Object({ id: Id }, closed),
  /** A new signing secret; the old one signs nothing from now on. */
  'webhooks.rotate-secret': Type.Object({ id: Id }, closed),
  /** The endpoint's dead letters, newest first, before `before_id` (a page's last id). */
  'webhooks.dead-letters': Type.Object(
    {
      id: Id,
      before_id: Nullable(Id),
      limit: Type.Integer({ minimum: 1, maximum: webhookLimits.deadLettersPageMax }),
    },
    closed,
  ),
  /** The endpoint's dead letters are due again, with fresh retries. */
  'webhooks.replay': Type.Object({ id: Id }, closed),
  /**
   * Registers a device's Web Push subscription (the gateway checked the endpoint's rules and the keys). The same
   * endpoint registered again, by this or another user, is taken over: a device that changed accounts.
   */
  'push.subscribe': Type.Object(
    {
      user_id: Id,
      endpoint: Text(PushLimits.endpointMaxLength, 1),
      p256dh: Type.String({
        minLength: 1,
        maxLength: PushLimits.p256dhMaxLength,
        pattern: '^[A-Za-z0-9_=-]+$',
      }),
      auth: Type.String({ minLength: 1, maxLength: PushLimits.authMaxLength, pattern: '^[A-Za-z0-9_=-]+$' }),
      expires_at: Nullable(Timestamp),
      user_agent: Nullable(Text(PushLimits.userAgentMaxLength)),
    },
    closed,
  ),
  /** Removes the caller's subscription with this endpoint (idempotent). */
  'push.unsubscribe': Type.Object({ user_id: Id, endpoint: Text(PushLimits.endpointMaxLength, 1) }, closed),
};

export type ChatsPattern = keyof typeof ChatsRpcRequests;
export type RpcRequest<P extends ChatsPattern> = Static<(typeof ChatsRpcRequests)[P]>;
export type HistoryRequest = Static<typeof History>;

/** Reads: under overload the chats service sheds these first (a shorter queue limit than writes). */
export const CHATS_READ_PATTERNS: ReadonlySet<ChatsPattern> = new Set<ChatsPattern>([
  'users.get',
  'users.get-many',
  'mentors.of',
  'users.find-by-username',
  'users.contacts',
  'sessions.ended-since',
  'conversations.list',
  'conversations.get',
  'conversations.unread',
  'conversations.member-views',
  'members.list',
  'users.blocks',
  'messages.history',
  'webhooks.list',
  'webhooks.get',
  'webhooks.dead-letters',
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
  'users.get-many': { users: UserProfile[] };
  'users.set-role': UserProfile;
  'mentors.assign': { student_id: Id; mentor_id: Id | null };
  'mentors.of': { mentor_id: Id | null };
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
  'conversations.create-group': MembershipChange;
  'conversations.update': MembershipChange;
  'conversations.mute': Conversation;
  'conversations.unmute': Conversation;
  'conversations.unread': UnreadSummary;
  'conversations.member-views': { conversation: ConversationState; views: MemberViewGroup[] };
  'members.list': MemberPage;
  'members.add': MembershipChange;
  'members.remove': MembershipChange;
  'members.set-role': MembershipChange;
  'users.block': { blocked: boolean };
  'users.unblock': { unblocked: boolean };
  'users.blocks': { users: User[] };
  'conversations.list': ConversationPage;
  'conversations.get': Conversation;
  'conversations.membership': {
    conversation_id: Id;
    type: 'direct' | 'group';
    last_seq: number;
    last_read_seq: number;
    version: number;
    /** A direct conversation whose users blocked each other (either way). */
    blocked: boolean;
  };
  'conversations.mark-read': { conversation_id: Id; seq: number; moved: boolean };
  'messages.send': SendMessageResult;
  'messages.send-batch': { results: SendOutcome[] };
  'messages.history': MessagePage;
  'messages.edit': MessageChangeResult;
  'messages.delete': MessageChangeResult;
  'messages.react': MessageChangeResult;
  'webhooks.create': WebhookEndpoint;
  'webhooks.list': { endpoints: WebhookEndpoint[] };
  'webhooks.get': WebhookEndpoint;
  'webhooks.update': WebhookEndpoint;
  'webhooks.delete': { deleted: boolean };
  'webhooks.rotate-secret': WebhookEndpoint;
  'webhooks.dead-letters': { dead_letters: WebhookDeadLetter[] };
  'webhooks.replay': { replayed: number };
  'push.subscribe': { id: Id; created_at: string; replaced: boolean };
  'push.unsubscribe': { removed: boolean };
}

export type RpcResponse<P extends ChatsPattern> = ChatsRpcResponses[P];

/** One send of a batch: its result, or the error it alone failed with. */
export type SendOutcome = { ok: SendMessageResult } | { error: RpcErrorBody };

/** A conversation's fields that are the same for every member. */
export type ConversationState = Omit<Conversation, MemberField>;
/** The fields of a Conversation that are the caller's own. */
export type MemberField = 'unread_count' | 'my_role' | 'muted' | 'muted_until';
/** What one member's `conversation-updated` adds to the ConversationState. */
export type MemberView = Pick<Conversation, MemberField>;
/** Members who see the conversation the same way: one broadcast reaches them all. */
export interface MemberViewGroup {
  view: MemberView;
  user_ids: Id[];
}

/** The conversation as one member sees it: the seed's fields first, then the group and member fields. */
export function conversationFor(state: ConversationState, view: MemberView): Conversation {
  const { type, title, member_count, metadata, version, ...seed } = state;
  const { unread_count, ...mine } = view;
  return { ...seed, unread_count, type, title, member_count, metadata, version, ...mine };
}

export interface SendMessageResult {
  message: Message;
  /** False when `client_message_id` matched an earlier message, which is returned instead (nothing new stored). */
  created: boolean;
  /** The conversation after the message, for `conversation-updated`. */
  conversation: ConversationState;
  /**
   * Both users' views of a direct conversation, for their `conversation-updated`; null for a group, whose updates
   * the gateway coalesces (see `conversations.member-views`), and for a repeat.
   */
  views: MemberViewGroup[] | null;
  /** Users who left or were removed in the last minute: their sockets may still be in the room; skip them. */
  excluded_user_ids: Id[];
}

/** What an edit, deletion or reaction did to a message. */
export interface MessageChangeResult {
  /** The message after the change (as it was, when nothing changed). */
  message: Message;
  /** Null when nothing changed (a reaction already there or not there, a deletion repeated, the same content). */
  change: MessageChange | null;
  /** Users who left or were removed in the last minute: their sockets may still be in the room; skip them. */
  excluded_user_ids: Id[];
  /** The message is the conversation's latest: lists show it, so they are told (`conversation-updated`). */
  last: boolean;
}

/**
 * What a membership or group change did: its system messages in seq order (stored and broadcast like any
 * message), the conversation after it, who joined and who left (their sockets join or leave its room).
 */
export interface MembershipChange {
  messages: Message[];
  conversation: ConversationState;
  /** Removed or left, now or in the last minute: no broadcast of these messages reaches them. */
  excluded_user_ids: Id[];
  added_user_ids: Id[];
  removed_user_ids: Id[];
  /** The conversation as the caller sees it after the change; null when the caller left. */
  mine: Conversation | null;
  /** Each added member's view (their `conversation-updated`). */
  added_views: MemberViewGroup[];
  /**
   * New presence contacts, when users joined a group within PRESENCE_GROUP_MAX members: `added` and the group's
   * other `members` now see each other's presence.
   */
  contacts: { added: Id[]; members: Id[] } | null;
}
