// The AsyncAPI 3.0 description of the Socket.IO namespace /chat, built from the wire contract (libs/contracts/src/wire).
// Plain TypeScript, no decorators. `npm run asyncapi` writes it to docs/asyncapi.json; the gateway serves it at
// GET /api/asyncapi.json; test/e2e/asyncapi.e2e-spec.ts fails when the two drift apart, and checks real traffic
// against these schemas.
//
// The schemas are written by hand, but typed against the wire interfaces: `object<T>()` only accepts exactly T's
// keys, and its `required` list must name every required key of T; every event of ClientToServerEvents and
// ServerToClientEvents must have a message. So a field or an event added to the contract fails to compile here.
import { ErrorMessages } from '../wire/errors.js';
import { Limits, messageLimits } from '../wire/limits.js';
import {
  ATTACHMENT_TYPES,
  CONVERSATION_TYPES,
  MEMBER_ROLES,
  MESSAGE_CHANGE_KINDS,
  MESSAGE_TYPES,
  SYSTEM_ACTIONS,
} from '../wire/models.js';
import type {
  Attachment,
  Conversation,
  ConversationRef,
  Message,
  MessageChange,
  ReactionCount,
} from '../wire/models.js';
import {
  CHAT_NAMESPACE,
  ClientEvent,
  ServerEvent,
  type AckFailure,
  type AuthenticatePayload,
  type ClientToServerEvents,
  type ConversationRemovedEvent,
  type ConversationUpdatedEvent,
  type DeleteMessagePayload,
  type EditMessagePayload,
  type ErrorEvent,
  type JoinConversationPayload,
  type JoinedConversationEvent,
  type LeaveConversationPayload,
  type MarkReadPayload,
  type MessageErrorEvent,
  type MessagesReadEvent,
  type MessageUpdatedEvent,
  type PresenceEvent,
  type ReactPayload,
  type RecentMessagesEvent,
  type SendMessagePayload,
  type ServerToClientEvents,
  type TypingPayload,
  type UserTypingEvent,
} from '../wire/socket-events.js';

export type JsonSchema = { [keyword: string]: unknown };

// ---- typing helpers -------------------------------------------------------------------------------------------

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

// The event-name constants and the event maps name the same events.
export type ClientEventsMatch = Assert<
  Equal<keyof ClientToServerEvents, (typeof ClientEvent)[keyof typeof ClientEvent]>
>;
export type ServerEventsMatch = Assert<
  Equal<keyof ServerToClientEvents, (typeof ServerEvent)[keyof typeof ServerEvent]>
>;

/** The first parameter of an event handler (its payload), and of its ack callback (the acknowledgement). */
type PayloadOf<F> = F extends (payload: infer P, ...rest: never[]) => void ? P : never;
type AckOf<F> = F extends (payload: never, ack?: (response: infer A) => void) => void ? A : never;
type AckSuccess<A> = Extract<A, { success: true }>;

// The interfaces the schemas below are typed with are the event maps' own payload types.
export type PayloadsMatch = Assert<
  Equal<
    [
      PayloadOf<ClientToServerEvents['send-message']>,
      PayloadOf<ClientToServerEvents['join-conversation']>,
      PayloadOf<ClientToServerEvents['leave-conversation']>,
      PayloadOf<ClientToServerEvents['typing']>,
      PayloadOf<ClientToServerEvents['mark-read']>,
      PayloadOf<ClientToServerEvents['authenticate']>,
      PayloadOf<ClientToServerEvents['edit-message']>,
      PayloadOf<ClientToServerEvents['delete-message']>,
      PayloadOf<ClientToServerEvents['react']>,
      PayloadOf<ServerToClientEvents['receive-message']>,
      PayloadOf<ServerToClientEvents['message-sent']>,
      PayloadOf<ServerToClientEvents['message-error']>,
      PayloadOf<ServerToClientEvents['joined-conversation']>,
      PayloadOf<ServerToClientEvents['recent-messages']>,
      PayloadOf<ServerToClientEvents['user-typing']>,
      PayloadOf<ServerToClientEvents['messages-read']>,
      PayloadOf<ServerToClientEvents['user:online']>,
      PayloadOf<ServerToClientEvents['user:offline']>,
      PayloadOf<ServerToClientEvents['conversation-updated']>,
      PayloadOf<ServerToClientEvents['conversation-removed']>,
      PayloadOf<ServerToClientEvents['message-updated']>,
      PayloadOf<ServerToClientEvents['error']>,
    ],
    [
      SendMessagePayload,
      JoinConversationPayload,
      LeaveConversationPayload,
      TypingPayload,
      MarkReadPayload,
      AuthenticatePayload,
      EditMessagePayload,
      DeleteMessagePayload,
      ReactPayload,
      Message,
      Message,
      MessageErrorEvent,
      JoinedConversationEvent,
      RecentMessagesEvent,
      UserTypingEvent,
      MessagesReadEvent,
      PresenceEvent,
      PresenceEvent,
      ConversationUpdatedEvent,
      ConversationRemovedEvent,
      MessageUpdatedEvent,
      ErrorEvent,
    ]
  >
>;

/**
 * An object schema with exactly T's properties; `required` must list every key T requires (and only those).
 * Closed (`additionalProperties: false`) unless `open`.
 */
function object<T>() {
  return <const R extends readonly RequiredKeys<T>[]>(
    properties: { [K in keyof T]-?: JsonSchema },
    required: R &
      ([Exclude<RequiredKeys<T>, R[number]>] extends [never]
        ? unknown
        : { missingRequired: Exclude<RequiredKeys<T>, R[number]> }),
    extra: JsonSchema = {},
  ): JsonSchema => ({
    type: 'object',
    ...extra,
    properties,
    required: [...(required as readonly string[])],
    additionalProperties: false,
  });
}

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

// ---- schemas --------------------------------------------------------------------------------------------------

const id = (description: string): JsonSchema => ({
  type: 'integer',
  minimum: 1,
  maximum: Number.MAX_SAFE_INTEGER,
  description,
});
const seq = (description: string, minimum = 0): JsonSchema => ({
  type: 'integer',
  minimum,
  maximum: Number.MAX_SAFE_INTEGER,
  description,
});
const timestamp: JsonSchema = { type: 'string', format: 'date-time', description: 'ISO 8601, UTC' };
const text = (description: string): JsonSchema => ({ type: 'string', description });
const nullable = (schema: JsonSchema): JsonSchema => ({ oneOf: [schema, { type: 'null' }] });
const emoji = (description: string): JsonSchema => ({
  type: 'string',
  minLength: 1,
  maxLength: Limits.emojiMaxLength,
  description: `${description} (1–${Limits.emojiMaxLength} UTF-16 code units: a flag or a family of four fits)`,
});
const quote = (error: string) => `\`${error}\``;

const schemas = {
  ConversationRef: object<ConversationRef>()(
    {
      id: id('The conversation'),
      sender_id: id('The participant who created the conversation'),
      receiver_id: { oneOf: [id('The other participant of a direct conversation'), { type: 'null' }] },
    },
    ['id', 'sender_id', 'receiver_id'],
    { description: 'The conversation as embedded in every message (seed 003)' },
  ),
  Message: object<Message>()(
    {
      id: id('The message'),
      sender_id: id('Who sent it'),
      conversation_id: id('Its conversation'),
      seq: seq('1, 2, 3… within the conversation, without gaps, in commit order', 1),
      timestamp,
      message_type: { type: 'string', enum: [...MESSAGE_TYPES, 'system'] },
      content: {
        type: 'string',
        maxLength: messageLimits.contentMaxLength,
        description:
          'Stored exactly as sent (render it as text). For image and file: an http(s) URL. ' +
          'For system: a short text of the change. Empty on a tombstone (deleted_at set), and may be empty on a ' +
          'text message with attachments. ' +
          `The limit (${messageLimits.contentMaxLength} by default) is MESSAGE_MAX_LENGTH.`,
      },
      client_message_id: {
        type: ['string', 'null'],
        maxLength: Limits.clientMessageIdMaxLength,
        description: "The sender's idempotency key, null when none was given",
      },
      conversation: ref('ConversationRef'),
      version: seq(
        "The conversation's version of this message's latest change (its creation, an edit, a deletion, a " +
          'reaction change): compare it with a copy you hold to keep the newer one',
        1,
      ),
      edited_at: nullable({ ...timestamp, description: 'When its content was last edited; null if never' }),
      deleted_at: nullable({
        ...timestamp,
        description:
          'Set on a tombstone: the message keeps its place in seq order, its content is empty, its attachments, ' +
          'metadata and reactions are gone, and it can no longer be edited or reacted to',
      }),
      reply_to_id: nullable(id('The message of the same conversation this one replies to')),
      attachments: {
        type: 'array',
        items: ref('Attachment'),
        maxItems: Limits.attachmentsMax,
        description: 'As sent, in order; empty when none (and on a tombstone)',
      },
      metadata: ref('Metadata'),
      reactions: {
        type: 'array',
        items: ref('ReactionCount'),
        maxItems: Limits.reactionsPerMessageMax,
        description: `Most used first; at most ${Limits.reactionsPerMessageMax} distinct emojis; empty when none`,
      },
      my_reactions: {
        type: 'array',
        items: emoji('An emoji you reacted with'),
        maxItems: Limits.reactionsPerMessageMax,
        uniqueItems: true,
        description:
          'Your own reactions: only in history pages and `recent-messages` (not in live events, which go to ' +
          'everyone alike)',
      },
      system: {
        type: 'object',
        description: "Only on message_type 'system': the membership or group change it records",
        properties: {
          action: { type: 'string', enum: [...SYSTEM_ACTIONS] },
          actor_id: id('Who made the change'),
          user_ids: { type: 'array', items: id('Whom it concerns') },
        },
        required: ['action', 'actor_id', 'user_ids'],
        additionalProperties: false,
      },
    },
    [
      'id',
      'sender_id',
      'conversation_id',
      'seq',
      'timestamp',
      'message_type',
      'content',
      'client_message_id',
      'conversation',
      'version',
      'edited_at',
      'deleted_at',
      'reply_to_id',
      'attachments',
      'metadata',
      'reactions',
    ],
  ),
  Attachment: object<Attachment>()(
    {
      type: { type: 'string', enum: [...ATTACHMENT_TYPES] },
      url: {
        type: 'string',
        minLength: 1,
        maxLength: Limits.urlMaxLength,
        pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
        description: 'An http(s) URL of the file (the server stores it, never fetches it)',
      },
      name: {
        type: 'string',
        maxLength: Limits.attachmentNameMaxLength,
        description: 'The file name to show',
      },
      mime_type: { type: 'string', maxLength: Limits.mimeTypeMaxLength, description: 'e.g. `image/png`' },
      size: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Bytes' },
      width: {
        type: 'integer',
        minimum: 1,
        maximum: Limits.attachmentDimensionMax,
        description: 'Pixels, for images and video',
      },
      height: {
        type: 'integer',
        minimum: 1,
        maximum: Limits.attachmentDimensionMax,
        description: 'Pixels, for images and video',
      },
    },
    ['type', 'url'],
    {
      description:
        `A file a message carries (at most ${Limits.attachmentsMax}): where it is and what the client said about ` +
        'it, stored as given',
    },
  ),
  ReactionCount: object<ReactionCount>()(
    {
      emoji: emoji('The reaction'),
      count: { type: 'integer', minimum: 1, description: 'How many users reacted with it' },
    },
    ['emoji', 'count'],
  ),
  MessageChange: object<MessageChange>()(
    {
      kind: {
        type: 'string',
        enum: [...MESSAGE_CHANGE_KINDS],
        description:
          'edited: new content; deleted: now a tombstone; reaction_added / reaction_removed: by user_id',
      },
      user_id: id('Who made the change'),
      emoji: emoji('The reaction added or removed: only on reaction_added and reaction_removed'),
    },
    ['kind', 'user_id'],
    { description: 'What changed a message, and who did it' },
  ),
  Metadata: {
    type: 'object',
    description:
      `The client's own JSON object, kept verbatim: at most ${Limits.metadataMaxBytes} bytes serialized and ` +
      `${Limits.metadataMaxDepth} levels deep; \`{}\` when none`,
  },
  Conversation: object<Conversation>()(
    {
      id: id('The conversation'),
      sender_id: id('The participant who created the conversation'),
      receiver_id: { oneOf: [id('The other participant; null for a group'), { type: 'null' }] },
      created_at: timestamp,
      last_seq: seq('The seq of its latest message, 0 when it has none'),
      last_message: { oneOf: [ref('Message'), { type: 'null' }] },
      unread_count: {
        type: 'integer',
        minimum: 0,
        description:
          "The recipient's unread messages (others', after the recipient's read mark; system messages do not count)",
      },
      type: { type: 'string', enum: [...CONVERSATION_TYPES] },
      title: { type: ['string', 'null'], maxLength: Limits.titleMaxLength, description: 'null for direct' },
      member_count: { type: 'integer', minimum: 0 },
      metadata: ref('Metadata'),
      version: seq(
        'Its change counter: 1, 2, 3… without gaps, one for each new message (system ones too), edit, deletion and ' +
          'reaction change; 0 when nothing happened yet. Catch up with join-conversation since_version',
      ),
      my_role: { type: 'string', enum: [...MEMBER_ROLES], description: "The recipient's role" },
      muted: { type: 'boolean', description: 'The recipient muted it: no notifications' },
      muted_until: { oneOf: [timestamp, { type: 'null' }] },
    },
    [
      'id',
      'sender_id',
      'receiver_id',
      'created_at',
      'last_seq',
      'last_message',
      'unread_count',
      'type',
      'title',
      'member_count',
      'metadata',
      'version',
      'my_role',
      'muted',
      'muted_until',
    ],
  ),
  AckFailure: object<AckFailure>()(
    {
      success: { const: false },
      error: text(
        "The contract's error string, e.g. `Conversation not found`, `Unauthorized`, `Rate limit exceeded`, " +
          quote(ErrorMessages.messageNotFound),
      ),
    },
    ['success', 'error'],
  ),
};

// Client → server payloads.
const clientPayloads: { [E in keyof ClientToServerEvents]: JsonSchema } = {
  'send-message': object<SendMessagePayload>()(
    {
      sender_id: id('Your own user id'),
      conversation_id: id('A conversation you take part in (joining it is not needed to send)'),
      message_type: { type: 'string', enum: [...MESSAGE_TYPES] },
      content: {
        type: 'string',
        maxLength: messageLimits.contentMaxLength,
        description:
          'Text (no NUL characters or unpaired surrogates), or an http(s) URL for image and file. Empty only for ' +
          `a text message with attachments (a caption-less message of files); else ${quote(ErrorMessages.contentEmpty)}`,
      },
      client_message_id: {
        type: 'string',
        minLength: 1,
        maxLength: Limits.clientMessageIdMaxLength,
        description:
          'Idempotency key, unique per sender: a repeat returns the stored message and broadcasts nothing',
      },
      reply_to_id: id(
        `A message of the same conversation this one replies to; else ${quote(ErrorMessages.replyNotInConversation)}`,
      ),
      attachments: {
        type: 'array',
        items: ref('Attachment'),
        maxItems: Limits.attachmentsMax,
        description: `At most ${Limits.attachmentsMax} files (http(s) URLs), stored as given`,
      },
      metadata: ref('Metadata'),
    },
    ['sender_id', 'conversation_id', 'message_type', 'content'],
    {
      // Empty content: only a text message with at least one attachment.
      if: { properties: { content: { const: '' } }, required: ['content'] },
      then: {
        properties: { message_type: { const: 'text' }, attachments: { minItems: 1 } },
        required: ['attachments'],
      },
    },
  ),
  'join-conversation': object<JoinConversationPayload>()(
    {
      conversationId: id('The conversation to join'),
      userId: id('Your own user id'),
      since_seq: seq(
        `The last seq you have: the catch-up holds the messages after it (at most ${Limits.catchUpMax}). ` +
          `Without it: the latest ${Limits.recentMessagesOnJoin}. New messages only: edits, deletions and ` +
          'reactions of older ones need since_version.',
      ),
      since_version: seq(
        'The last conversation version you have: the catch-up holds every message created or changed (edited, ' +
          `deleted, reacted to) after it, in ascending version (at most ${Limits.catchUpMax}). Not with ` +
          `since_seq: ${quote(ErrorMessages.oneCatchUpCursor)}.`,
      ),
    },
    ['conversationId', 'userId'],
    { not: { required: ['since_seq', 'since_version'] } },
  ),
  'leave-conversation': object<LeaveConversationPayload>()(
    { conversationId: id('The conversation to leave') },
    ['conversationId'],
  ),
  typing: object<TypingPayload>()(
    {
      conversationId: id('A conversation you take part in'),
      userId: id('Your own user id'),
      isTyping: { type: 'boolean' },
    },
    ['conversationId', 'userId', 'isTyping'],
  ),
  'mark-read': object<MarkReadPayload>()(
    {
      conversationId: id('A conversation you take part in'),
      seq: seq('Read up to this seq (default: the latest); the mark never moves back'),
    },
    ['conversationId'],
  ),
  authenticate: object<AuthenticatePayload>()(
    { token: text('A fresh access token of the same user (from POST /api/auth/refresh)') },
    ['token'],
  ),
  'edit-message': object<EditMessagePayload>()(
    {
      conversationId: id('A conversation you take part in'),
      messageId: id('A message of yours in it (not deleted)'),
      content: {
        type: 'string',
        maxLength: messageLimits.contentMaxLength,
        description:
          'The new content (no NUL characters or unpaired surrogates); empty only when the message has ' +
          'attachments. Its attachments, metadata and reply_to_id stay as they were.',
      },
    },
    ['conversationId', 'messageId', 'content'],
  ),
  'delete-message': object<DeleteMessagePayload>()(
    {
      conversationId: id('A conversation you take part in'),
      messageId: id("A message in it: yours, or anyone's in a group you own or administer"),
    },
    ['conversationId', 'messageId'],
  ),
  react: object<ReactPayload>()(
    {
      conversationId: id('A conversation you take part in'),
      messageId: id('A message in it (not deleted)'),
      emoji: emoji('The reaction, stored as given'),
      add: { type: 'boolean', description: 'true adds your reaction, false removes it' },
    },
    ['conversationId', 'messageId', 'emoji', 'add'],
  ),
};

/** The success shape of each client event's acknowledgement (the failure shape is AckFailure for all). */
const ackSuccess: { [E in keyof ClientToServerEvents]: JsonSchema } = {
  'send-message': object<AckSuccess<AckOf<ClientToServerEvents['send-message']>>>()(
    { success: { const: true }, message: ref('Message') },
    ['success', 'message'],
  ),
  'join-conversation': object<AckSuccess<AckOf<ClientToServerEvents['join-conversation']>>>()(
    {
      success: { const: true },
      conversationId: id('The conversation joined'),
      last_seq: seq('Its latest seq'),
      last_read_seq: seq('Your read mark in it'),
      version: seq('Its latest version: pass it as since_version when you join again'),
    },
    ['success', 'conversationId', 'last_seq', 'last_read_seq', 'version'],
  ),
  'leave-conversation': object<AckSuccess<AckOf<ClientToServerEvents['leave-conversation']>>>()(
    { success: { const: true }, conversationId: id('The conversation left') },
    ['success', 'conversationId'],
  ),
  typing: object<AckSuccess<AckOf<ClientToServerEvents['typing']>>>()(
    { success: { const: true }, conversationId: id('The conversation') },
    ['success', 'conversationId'],
  ),
  'mark-read': object<AckSuccess<AckOf<ClientToServerEvents['mark-read']>>>()(
    {
      success: { const: true },
      conversationId: id('The conversation'),
      seq: seq('Your read mark after the call'),
    },
    ['success', 'conversationId', 'seq'],
  ),
  authenticate: object<AckSuccess<AckOf<ClientToServerEvents['authenticate']>>>()(
    {
      success: { const: true },
      expires_at: {
        type: 'string',
        format: 'date-time',
        description: 'When the socket is closed (`Token expired`) unless it authenticates again',
      },
    },
    ['success', 'expires_at'],
  ),
  // The message after the change: the edited message, the tombstone, the reacted-to message.
  'edit-message': object<AckSuccess<AckOf<ClientToServerEvents['edit-message']>>>()(
    { success: { const: true }, message: ref('Message') },
    ['success', 'message'],
  ),
  'delete-message': object<AckSuccess<AckOf<ClientToServerEvents['delete-message']>>>()(
    { success: { const: true }, message: ref('Message') },
    ['success', 'message'],
  ),
  react: object<AckSuccess<AckOf<ClientToServerEvents['react']>>>()(
    { success: { const: true }, message: ref('Message') },
    ['success', 'message'],
  ),
};

// Server → client payloads.
const serverPayloads: { [E in keyof ServerToClientEvents]: JsonSchema } = {
  'receive-message': ref('Message'),
  'message-sent': ref('Message'),
  'message-error': object<MessageErrorEvent>()(
    {
      error: text("The contract's error string"),
      client_message_id: { type: ['string', 'null'], description: 'The failed send’s key, when it had one' },
    },
    ['error'],
  ),
  'joined-conversation': object<JoinedConversationEvent>()(
    {
      conversationId: id('The conversation joined'),
      success: { const: true },
      last_seq: seq('Its latest seq'),
      version: seq('Its latest version: pass it as since_version when you join again'),
    },
    ['conversationId', 'success', 'last_seq', 'version'],
  ),
  'recent-messages': object<RecentMessagesEvent>()(
    {
      conversationId: id('The conversation joined'),
      messages: {
        type: 'array',
        items: ref('Message'),
        description:
          'Ascending seq; ascending version for a catch-up by since_version. Each carries my_reactions.',
      },
      has_more: {
        type: 'boolean',
        description:
          'More messages lie beyond these: older ones (join without since_seq or since_version) or newer ones ' +
          '(with since_seq: page on with GET /api/chats/conversations/{id}/messages?after_seq=; with ' +
          'since_version: ?after_version=)',
      },
    },
    ['conversationId', 'messages', 'has_more'],
  ),
  'user-typing': object<UserTypingEvent>()(
    { conversationId: id('The conversation'), userId: id('Who is typing'), isTyping: { type: 'boolean' } },
    ['conversationId', 'userId', 'isTyping'],
  ),
  'messages-read': object<MessagesReadEvent>()(
    {
      conversationId: id('The conversation'),
      userId: id('Whose read mark moved'),
      seq: seq('The new read mark'),
    },
    ['conversationId', 'userId', 'seq'],
  ),
  'user:online': object<PresenceEvent>()({ userId: id('A contact who is online') }, ['userId']),
  'user:offline': object<PresenceEvent>()({ userId: id('A contact who went offline') }, ['userId']),
  'conversation-updated': object<ConversationUpdatedEvent>()({ conversation: ref('Conversation') }, [
    'conversation',
  ]),
  'conversation-removed': object<ConversationRemovedEvent>()(
    { conversationId: id('The conversation you left or were removed from') },
    ['conversationId'],
  ),
  'message-updated': object<MessageUpdatedEvent>()(
    {
      message: ref('Message'),
      change: ref('MessageChange'),
    },
    ['message', 'change'],
    { description: "`message` is the message's whole state after `change` (its version is the change's)" },
  ),
  error: object<ErrorEvent>()({ message: text("The contract's error string") }, ['message']),
};

// ---- messages and operations -----------------------------------------------------------------------------------

type ClientName = keyof ClientToServerEvents;
type ServerName = keyof ServerToClientEvents;

const clientDocs: { [E in ClientName]: { title: string; summary: string; emits: ServerName[] } } = {
  'send-message': {
    title: 'Send a message',
    summary:
      'Stored first, then acknowledged: `message-sent` to this socket and the ack; `receive-message` to every ' +
      "other socket of the conversation's room; `conversation-updated` to both participants. Messages of one " +
      'socket are stored in the order it sent them. A message may reply to another of the conversation ' +
      `(reply_to_id), carry up to ${Limits.attachmentsMax} attachments and metadata. Errors: the ack, and ` +
      '`message-error`.',
    emits: ['message-sent', 'receive-message', 'conversation-updated', 'message-error'],
  },
  'join-conversation': {
    title: 'Join a conversation',
    summary:
      'Joins the room, then sends `joined-conversation` and `recent-messages` (a catch-up after `since_seq`, or ' +
      'every message new or changed after `since_version`, or the latest messages). A message committed or ' +
      'changed meanwhile may arrive both live and in the catch-up: de-duplicate by id, keeping the higher ' +
      'version. Errors `Conversation not found`, `Unauthorized to join this conversation`, `Unauthorized`, ' +
      `${quote(ErrorMessages.oneCatchUpCursor)}.`,
    emits: ['joined-conversation', 'recent-messages', 'error'],
  },
  'leave-conversation': {
    title: 'Leave a conversation',
    summary: 'Leaves the room: no more live messages or typing of that conversation on this socket.',
    emits: ['error'],
  },
  typing: {
    title: 'Typing indicator',
    summary:
      'Relayed as `user-typing` to the other sockets of the room; not stored. Rate limited per user ' +
      '(2/s, bursts of 5, by default): `Rate limit exceeded`.',
    emits: ['user-typing', 'error'],
  },
  'mark-read': {
    title: 'Mark read',
    summary:
      'Moves your read mark (never back). When it moved: `messages-read` to the room and to all your sockets.',
    emits: ['messages-read', 'error'],
  },
  authenticate: {
    title: 'Renew the socket’s token',
    summary:
      'A socket lives no longer than its access token: at `exp` it gets `error` `Token expired` and is ' +
      'disconnected. Send a fresh access token of the same user before then to keep it open; another user’s or ' +
      'a bad token is refused with `Unauthorized`. An ended session (logout) closes its sockets with ' +
      '`error` `Session ended`.',
    emits: ['error'],
  },
  'edit-message': {
    title: 'Edit a message',
    summary:
      'The author only, text messages only, and not a deleted message: replaces its content and sets `edited_at`, then ' +
      '`message-updated` (change `edited`) to the room, exactly once per socket; the ack holds the edited message. ' +
      `Errors ${quote(ErrorMessages.onlyAuthorEdits)}, ${quote(ErrorMessages.notAllowed)} (not a text message), ` +
      `${quote(ErrorMessages.messageNotFound)}, ${quote(ErrorMessages.contentEmpty)} (no attachments), ` +
      `${quote(ErrorMessages.blocked)}, ${quote(ErrorMessages.unauthorized)}, ${quote(ErrorMessages.rateLimited)}.`,
    emits: ['message-updated', 'error'],
  },
  'delete-message': {
    title: 'Delete a message',
    summary:
      "The author, or a group's owner or admins: the message stays in seq order as a tombstone (`deleted_at` set, " +
      '`content` empty, attachments, metadata and reactions gone) that cannot be edited or reacted to again; then ' +
      '`message-updated` (change `deleted`) to the room, exactly once per socket; the ack holds the tombstone. ' +
      `Errors ${quote(ErrorMessages.notAllowed)}, ${quote(ErrorMessages.messageNotFound)}, ` +
      `${quote(ErrorMessages.unauthorized)}, ${quote(ErrorMessages.rateLimited)}.`,
    emits: ['message-updated', 'error'],
  },
  react: {
    title: 'React to a message',
    summary:
      'Any member adds (`add: true`) or removes their reaction `emoji`, once per user and emoji, at most ' +
      `${Limits.reactionsPerMessageMax} distinct emojis per message; then \`message-updated\` (change ` +
      '`reaction_added` or `reaction_removed`) to the room, exactly once per socket. The ack holds the message ' +
      'after the change, unchanged when there was nothing to change (a reaction already there, or not there). ' +
      `Errors ${quote(ErrorMessages.tooManyReactions)}, ${quote(ErrorMessages.messageNotFound)}, ` +
      `${quote(ErrorMessages.blocked)}, ${quote(ErrorMessages.unauthorized)}, ${quote(ErrorMessages.rateLimited)}.`,
    emits: ['message-updated', 'error'],
  },
};

const serverDocs: { [E in ServerName]: { title: string; summary: string } } = {
  'receive-message': {
    title: 'A new message',
    summary:
      "To every socket of the conversation's room but the sender's, exactly once, on whichever gateway. " +
      'Messages from different senders may arrive out of seq order: seq has no gaps, so order them by it.',
  },
  'message-sent': { title: 'Your message is stored', summary: 'To the sending socket, before the ack.' },
  'message-error': { title: 'A send failed', summary: 'For clients that pass no ack callback.' },
  'joined-conversation': { title: 'Joined', summary: 'After `join-conversation`, before `recent-messages`.' },
  'recent-messages': {
    title: 'Catch-up after a join',
    summary:
      'Ascending seq (ascending version after `since_version`); the messages carry `my_reactions`, your own ' +
      'reactions.',
  },
  'user-typing': { title: 'Someone is typing', summary: 'From the other sockets of the room.' },
  'messages-read': {
    title: 'A read mark moved',
    summary: 'To the room (the other participant sees "seen") and to every socket of the reader.',
  },
  'user:online': {
    title: 'A contact is online',
    summary:
      'When their first socket connects, and as a snapshot of the online contacts when your socket connects. ' +
      'State, not an increment: the same event may come twice.',
  },
  'user:offline': { title: 'A contact went offline', summary: 'When their last socket goes.' },
  'conversation-updated': {
    title: 'A conversation changed',
    summary:
      "To each member's own sockets when a message arrives or the group changes, and to members just added; " +
      "`unread_count`, `my_role` and `muted` are the recipient's. For groups it is coalesced: at most one per " +
      'CONVERSATION_UPDATE_COALESCE_MS (1 s; the first at once), with the state after the latest message.',
  },
  'conversation-removed': {
    title: 'You left a conversation',
    summary:
      'You left or were removed: every socket of yours has left its room, on every gateway; drop it from the list.',
  },
  'message-updated': {
    title: 'A message was edited, deleted or reacted to',
    summary:
      "To every socket of the conversation's room, exactly once, on whichever gateway: the message's new state " +
      'and what changed. Replace your copy when its version is higher (changes may arrive out of version ' +
      'order). It carries no `my_reactions`: update yours from `change` when `change.user_id` is you.',
  },
  error: {
    title: 'An error',
    summary: 'For client events without an ack callback (other than send-message).',
  },
};

/** The operation/message key of an event name: `send-message` → `sendMessage`, `user:online` → `userOnline`. */
export function eventKey(event: string): string {
  return event.replace(/[-:]([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The version of the real-time API (`info.version`): bump it when the contract of /chat changes. */
export const CHAT_API_VERSION = '1.0.0';

export interface AsyncApiOptions {
  /** `host[:port]` of the server entry. Default `localhost:3001` (a gateway's default port). */
  host?: string;
}

/** The AsyncAPI 3.0 document of the `/chat` namespace. */
export function buildAsyncApiDocument(options: AsyncApiOptions = {}): Record<string, unknown> {
  const channelMessages: Record<string, JsonSchema> = {};
  const ackMessages: Record<string, JsonSchema> = {};
  const components: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  const messageRef = (key: string) => ({ $ref: `#/channels/chat/messages/${key}` });

  for (const event of Object.keys(clientPayloads) as ClientName[]) {
    const key = eventKey(event);
    const doc = clientDocs[event];
    components[key] = {
      name: event,
      title: doc.title,
      summary: doc.summary,
      payload: clientPayloads[event],
      'x-direction': 'client-to-server',
    };
    components[`${key}Ack`] = {
      name: `${event} (ack)`,
      title: `${doc.title}: acknowledgement`,
      summary: 'The argument of the ack callback: `{success: true, ...}` or `{success: false, error}`.',
      payload: { oneOf: [ackSuccess[event], ref('AckFailure')] },
    };
    channelMessages[key] = { $ref: `#/components/messages/${key}` };
    ackMessages[`${key}Ack`] = { $ref: `#/components/messages/${key}Ack` };
    operations[key] = {
      action: 'receive',
      channel: { $ref: '#/channels/chat' },
      title: doc.title,
      summary: doc.summary,
      messages: [messageRef(key)],
      reply: {
        channel: { $ref: '#/channels/acks' },
        messages: [{ $ref: `#/channels/acks/messages/${key}Ack` }],
      },
      'x-emits': doc.emits,
    };
  }
  for (const event of Object.keys(serverPayloads) as ServerName[]) {
    const key = eventKey(event);
    const doc = serverDocs[event];
    components[key] = {
      name: event,
      title: doc.title,
      summary: doc.summary,
      payload: serverPayloads[event],
      'x-direction': 'server-to-client',
    };
    channelMessages[key] = { $ref: `#/components/messages/${key}` };
    operations[key] = {
      action: 'send',
      channel: { $ref: '#/channels/chat' },
      title: doc.title,
      summary: doc.summary,
      messages: [messageRef(key)],
    };
  }

  return {
    asyncapi: '3.0.0',
    id: 'urn:parley:chat',
    info: {
      title: 'Parley chat (Socket.IO)',
      version: CHAT_API_VERSION,
      description:
        'The real-time API of a Parley gateway: Socket.IO v4 (Engine.IO protocol 4), namespace `/chat`. ' +
        'Each message below is a Socket.IO event: `name` is the event name, `payload` its single argument. ' +
        "Every client event takes an optional acknowledgement callback (see each operation's `reply`). " +
        "Operations are described from the gateway's side: `receive` = client → server, `send` = server → client. " +
        'Connect with `io("<gateway>/chat", { auth: { token } })`: a refused token is a `connect_error` with ' +
        'message `Unauthorized`. REST: OpenAPI at /api/docs-json. Guide: docs/protocol.md, SDK: docs/client.md.',
      license: { name: 'MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: options.host ?? 'localhost:3001',
        protocol: 'ws',
        pathname: '/socket.io',
        title: 'A gateway instance (or the load balancer in front of them)',
        description:
          'Socket.IO over WebSocket (`wss` behind TLS). Long-polling works too, but needs sticky sessions with ' +
          'several gateways.',
        security: [{ $ref: '#/components/securitySchemes/accessToken' }],
      },
    },
    channels: {
      chat: {
        address: CHAT_NAMESPACE,
        title: 'The /chat namespace',
        description:
          'On connect the socket joins the room `user:<id>`; `join-conversation` joins `conversation:<id>`.',
        servers: [{ $ref: '#/servers/gateway' }],
        messages: channelMessages,
      },
      acks: {
        address: null,
        title: 'Acknowledgements',
        description: "Socket.IO acknowledgements: the argument passed to a client event's callback.",
        servers: [{ $ref: '#/servers/gateway' }],
        messages: ackMessages,
      },
    },
    operations,
    components: {
      schemas,
      messages: components,
      securitySchemes: {
        accessToken: {
          type: 'httpApiKey',
          name: 'token',
          in: 'query',
          description:
            'A JWT access token (from POST /api/auth/login, /register or /refresh), sent as `auth.token` in the ' +
            'Socket.IO handshake (preferred), else the `token` query parameter, else `Authorization: Bearer`.',
        },
      },
    },
  };
}
