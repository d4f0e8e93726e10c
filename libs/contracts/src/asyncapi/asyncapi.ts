// The AsyncAPI 3.0 description of the Socket.IO namespace /chat, built from the wire contract (libs/contracts/src/wire).
// Plain TypeScript, no decorators. `npm run asyncapi` writes it to docs/asyncapi.json; the gateway serves it at
// GET /api/asyncapi.json; test/e2e/asyncapi.e2e-spec.ts fails when the two drift apart, and checks real traffic
// against these schemas.
//
// The schemas are written by hand, but typed against the wire interfaces: `object<T>()` only accepts exactly T's
// keys, and its `required` list must name every required key of T; every event of ClientToServerEvents and
// ServerToClientEvents must have a message. So a field or an event added to the contract fails to compile here.
import { Limits, messageLimits } from '../wire/limits.js';
import { CONVERSATION_TYPES, MEMBER_ROLES, MESSAGE_TYPES, SYSTEM_ACTIONS } from '../wire/models.js';
import type { Conversation, ConversationRef, Message } from '../wire/models.js';
import {
  CHAT_NAMESPACE,
  ClientEvent,
  ServerEvent,
  type AckFailure,
  type AuthenticatePayload,
  type ClientToServerEvents,
  type ConversationRemovedEvent,
  type ConversationUpdatedEvent,
  type ErrorEvent,
  type JoinConversationPayload,
  type JoinedConversationEvent,
  type LeaveConversationPayload,
  type MarkReadPayload,
  type MessageErrorEvent,
  type MessagesReadEvent,
  type PresenceEvent,
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
      PayloadOf<ServerToClientEvents['error']>,
    ],
    [
      SendMessagePayload,
      JoinConversationPayload,
      LeaveConversationPayload,
      TypingPayload,
      MarkReadPayload,
      AuthenticatePayload,
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
        minLength: 1,
        maxLength: messageLimits.contentMaxLength,
        description:
          'Stored exactly as sent (render it as text). For image and file: an http(s) URL. ' +
          'For system: a short text of the change. ' +
          `The limit (${messageLimits.contentMaxLength} by default) is MESSAGE_MAX_LENGTH.`,
      },
      client_message_id: {
        type: ['string', 'null'],
        maxLength: Limits.clientMessageIdMaxLength,
        description: "The sender's idempotency key, null when none was given",
      },
      conversation: ref('ConversationRef'),
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
    ],
  ),
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
      metadata: { type: 'object', description: "The client's JSON object, kept verbatim" },
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
      'my_role',
      'muted',
      'muted_until',
    ],
  ),
  AckFailure: object<AckFailure>()(
    {
      success: { const: false },
      error: text(
        "The contract's error string, e.g. `Conversation not found`, `Unauthorized`, `Rate limit exceeded`",
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
        minLength: 1,
        maxLength: messageLimits.contentMaxLength,
        description: 'Text (no NUL characters or unpaired surrogates), or an http(s) URL for image and file',
      },
      client_message_id: {
        type: 'string',
        minLength: 1,
        maxLength: Limits.clientMessageIdMaxLength,
        description:
          'Idempotency key, unique per sender: a repeat returns the stored message and broadcasts nothing',
      },
    },
    ['sender_id', 'conversation_id', 'message_type', 'content'],
  ),
  'join-conversation': object<JoinConversationPayload>()(
    {
      conversationId: id('The conversation to join'),
      userId: id('Your own user id'),
      since_seq: seq(
        `The last seq you have: the catch-up holds the messages after it (at most ${Limits.catchUpMax}). ` +
          `Without it: the latest ${Limits.recentMessagesOnJoin}.`,
      ),
    },
    ['conversationId', 'userId'],
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
    },
    ['success', 'conversationId', 'last_seq', 'last_read_seq'],
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
    },
    ['conversationId', 'success', 'last_seq'],
  ),
  'recent-messages': object<RecentMessagesEvent>()(
    {
      conversationId: id('The conversation joined'),
      messages: { type: 'array', items: ref('Message'), description: 'Ascending seq' },
      has_more: {
        type: 'boolean',
        description:
          'More messages lie beyond these: older ones (join without since_seq) or newer ones (with since_seq: ' +
          'page on with GET /api/chats/conversations/{id}/messages?after_seq=)',
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
      'socket are stored in the order it sent them. Errors: the ack, and `message-error`.',
    emits: ['message-sent', 'receive-message', 'conversation-updated', 'message-error'],
  },
  'join-conversation': {
    title: 'Join a conversation',
    summary:
      'Joins the room, then sends `joined-conversation` and `recent-messages` (a catch-up after `since_seq`, or ' +
      'the latest messages). A message committed meanwhile may arrive both live and in the catch-up: de-duplicate ' +
      'by id. Errors `Conversation not found`, `Unauthorized to join this conversation`, `Unauthorized`.',
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
  'recent-messages': { title: 'Catch-up after a join', summary: 'Ascending seq.' },
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
