import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ErrorMessages,
  type AuthTokens,
  type ClientToServerEvents,
  type Conversation,
  type DeleteMessagePayload,
  type EditMessagePayload,
  type Member,
  type Message,
  type MessageChange,
  type MessageChangeAck,
  type MessageUpdatedEvent,
  type ReactPayload,
  type SendMessagePayload,
  type ServerToClientEvents,
  type SystemInfo,
  type User,
} from '@parley/contracts/wire';
import { Server, type Socket } from 'socket.io';

interface SocketData {
  userId: number;
  sid?: string;
  /** The token's `exp` (seconds). */
  exp?: number;
  /** Closes the socket when its token expires (`Token expired`). */
  expiry?: ReturnType<typeof setTimeout>;
}

type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** What a token says, once the gateway took it. */
interface TokenClaims {
  userId: number;
  /** Seconds since the epoch (with a fraction, so that tests can use tokens that live under a second). */
  exp?: number;
  sid?: string;
}

/** Refusals a test queues: each next request of that kind is answered with the next error of its list. */
type Scripted =
  | 'send-message'
  | 'join-conversation'
  | 'mark-read'
  | 'authenticate'
  | 'edit-message'
  | 'delete-message'
  | 'react';

/** A change of a message as a client asked for it. */
export type ChangeCall =
  | { event: 'edit-message'; payload: EditMessagePayload }
  | { event: 'delete-message'; payload: DeleteMessagePayload }
  | { event: 'react'; payload: ReactPayload };

/** What a change did: the message after it, and the change (null: there was nothing to change). */
interface ChangeOutcome {
  message: Message;
  change: MessageChange | null;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT-shaped access token (unsigned: the scripted gateway only reads it). */
export function fakeJwt(claims: { sub: number; exp: number; sid?: string; n?: number }): string {
  return `${b64url({ alg: 'none' })}.${b64url({ ...claims, sub: String(claims.sub) })}.sig`;
}

/**
 * A small, scriptable stand-in for the gateway for the SDK's unit tests: a real Socket.IO server (namespace
 * /chat) and a real HTTP server, keeping messages in memory. It implements the protocol's shapes (tokens are
 * `t-<userId>`, which never expire, or JWT-shaped ones from `issue()`/`fakeJwt()` with `exp` and `sid`), and lets
 * a test misbehave on purpose: refuse tokens and requests, swallow acks, deliver out of order, drop connections,
 * expire tokens, end sessions. Each conversation counts its changes (`version`): new messages, edits, deletions and
 * reactions, as the real chats service does. The real gateway is tested with the SDK in test/client/.
 */
export class ScriptedGateway {
  readonly http: HttpServer;
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  url = '';
  /** Tokens refused at the handshake (connect_error "Unauthorized"). */
  readonly refused = new Set<string>();
  /** Every token a handshake presented, in order. */
  readonly handshakes: string[] = [];
  /** Every token an `authenticate` presented, in order. */
  readonly authenticates: string[] = [];
  /** Queued refusals: `refuse['join-conversation'].push('Rate limit exceeded')` refuses the next join so. */
  readonly refuse: Record<Scripted, string[]> = {
    'send-message': [],
    'join-conversation': [],
    'mark-read': [],
    authenticate: [],
    'edit-message': [],
    'delete-message': [],
    react: [],
  };
  /** How long the access tokens of `issue()` and of each refresh live (seconds). */
  accessTtlSeconds = 900;
  /** Swallow the acks of this many next authenticates (the token is not taken either). */
  dropAuthenticateAcks = 0;
  /** Sessions (`sid`) ended by a logout or by `endSession`. */
  readonly endedSessions = new Set<string>();
  /** POST /api/auth/logout and /logout-all calls: path, bearer token, body. */
  readonly logouts: Array<{ path: string; token: string; body: unknown }> = [];
  /** Every mark-read payload received. */
  readonly markReads: Array<{ conversationId: number; seq?: number }> = [];
  /** Every send-message payload received, in order (retries included). */
  readonly sends: SendMessagePayload[] = [];
  /** Every join-conversation payload received. */
  readonly joins: Array<{
    conversationId: number;
    userId: number;
    since_seq?: number;
    since_version?: number;
  }> = [];
  /** Every edit-message, delete-message and react received, in order (retries included). */
  readonly changes: ChangeCall[] = [];
  /** Swallow the acks of this many next changes: the change is made (and broadcast) all the same. */
  dropChangeAcks = 0;
  readonly typings: Array<{ conversationId: number; userId: number; isTyping: boolean; at: number }> = [];
  readonly restCalls: string[] = [];
  /** Swallow the acks (and message-sent) of this many next sends: the message is stored all the same. */
  dropSendAcks = 0;
  /** Do not broadcast stored messages or changes live (a test delivers them itself, e.g. out of order). */
  silentBroadcast = false;
  /** Catch-ups on join hold at most this many messages (the real one: 100). */
  catchUpMax = 100;
  /** Refuse the next send with this error. */
  failNextSend?: string;
  /**
   * Members of the conversations that have a member list (groups, from `group()` or `POST` over REST): others'
   * joins are refused (`Unauthorized to join this conversation`), their REST calls 403. Conversations without one
   * are open to everyone.
   */
  readonly members = new Map<number, Set<number>>();
  /** Read receipts of the members pages: `conversationId` → user → seq (mark-reads move them too). */
  readonly lastRead = new Map<number, Map<number, number>>();
  /** Members pages hold at most this many (paging). */
  membersPageMax = 100;
  /** Answer the next this many user lookups with 429 `Rate limit exceeded` (Retry-After: 0). */
  throttleLookups = 0;
  private nextConversationId = 100;
  private readonly messages = new Map<number, Message[]>();
  /** Each conversation's change counter. */
  private readonly versions = new Map<number, number>();
  /** Who reacted with what: message id → emoji → users. */
  private readonly reactions = new Map<number, Map<string, Set<number>>>();
  private nextId = 1;
  /** Live refresh tokens (each works once) and the login they belong to. */
  private readonly refreshTokens = new Map<string, { userId: number; sid: string }>();
  private issued = 0;

  constructor() {
    this.http = createServer((req, res) => this.rest(req, res));
    this.io = new Server(this.http, { transports: ['websocket'] });
    const nsp = this.io.of('/chat');
    nsp.use((socket, next) => {
      const raw = (socket.handshake.auth as { token?: unknown }).token;
      const token = typeof raw === 'string' ? raw : '';
      this.handshakes.push(token);
      const claims = this.verify(token);
      if (!claims) return next(new Error(ErrorMessages.unauthorized));
      socket.data = { userId: claims.userId, sid: claims.sid, exp: claims.exp };
      next();
    });
    nsp.on('connection', (socket: GatewaySocket) => this.onConnection(socket));
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
    return this;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets()) clearTimeout(socket.data.expiry);
    this.io.of('/chat').disconnectSockets(true);
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }

  /** Drops every connection (their clients reconnect). */
  dropConnections(): void {
    for (const socket of this.io.of('/chat').sockets.values()) socket.conn.close();
  }

  connectedUsers(): number[] {
    return this.sockets().map((s) => s.data.userId);
  }

  /**
   * Tokens for a new login of `userId` (a new session `s-<n>`, unless `sid` is given); the access token lives
   * `ttlSeconds` (default `accessTtlSeconds`).
   */
  issue(userId: number, options: { ttlSeconds?: number; sid?: string } = {}): AuthTokens {
    const n = ++this.issued;
    const sid = options.sid ?? `s-${n}`;
    const ttlSeconds = options.ttlSeconds ?? this.accessTtlSeconds;
    const refresh = `r-${n}`;
    this.refreshTokens.set(refresh, { userId, sid });
    return { access: fakeJwt({ sub: userId, exp: Date.now() / 1000 + ttlSeconds, sid, n }), refresh };
  }

  /** What the server does when a socket's token expires: `error` `Token expired`, then it disconnects. */
  expire(userId: number): void {
    for (const socket of this.sockets().filter((s) => s.data.userId === userId)) {
      this.closeSocket(socket, ErrorMessages.tokenExpired);
    }
  }

  /** Ends a session like a logout does: its sockets get `error` `Session ended` and are disconnected. */
  endSession(sid: string): void {
    this.endedSessions.add(sid);
    for (const socket of this.sockets().filter((s) => s.data.sid === sid)) {
      this.closeSocket(socket, ErrorMessages.sessionEnded);
    }
  }

  private sockets(): GatewaySocket[] {
    return [...this.io.of('/chat').sockets.values()];
  }

  private closeSocket(socket: GatewaySocket, message: string): void {
    clearTimeout(socket.data.expiry);
    socket.emit('error', { message });
    socket.disconnect(true);
  }

  /** The claims of a token the gateway takes now, or undefined (refused, expired, of an ended session…). */
  private verify(token: string): TokenClaims | undefined {
    if (this.refused.has(token)) return undefined;
    const claims = decode(token);
    if (!claims || (claims.exp !== undefined && claims.exp * 1000 <= Date.now())) return undefined;
    return claims.sid !== undefined && this.endedSessions.has(claims.sid) ? undefined : claims;
  }

  /** (Re)arms the socket's expiry at its token's `exp`. */
  private armExpiry(socket: GatewaySocket, exp: number | undefined): void {
    clearTimeout(socket.data.expiry);
    if (exp === undefined) return;
    socket.data.expiry = setTimeout(
      () => this.closeSocket(socket, ErrorMessages.tokenExpired),
      Math.max(0, exp * 1000 - Date.now()),
    );
  }

  /** The error a test queued for the next request of this kind, if any. */
  private scripted(kind: Scripted): string | undefined {
    return this.refuse[kind].shift();
  }

  /** Stores a message as `senderId` without broadcasting it (for a test to deliver, or not, as it likes). */
  store(
    conversationId: number,
    senderId: number,
    content: string,
    clientMessageId: string | null = null,
    extra: Pick<SendMessagePayload, 'reply_to_id' | 'attachments' | 'metadata'> = {},
  ): Message {
    const list = this.messages.get(conversationId) ?? [];
    this.messages.set(conversationId, list);
    const message: Message = {
      id: this.nextId++,
      sender_id: senderId,
      conversation_id: conversationId,
      seq: list.length + 1,
      timestamp: new Date().toISOString(),
      message_type: 'text',
      content,
      client_message_id: clientMessageId,
      conversation: { id: conversationId, sender_id: 1, receiver_id: 2 },
      version: this.nextVersion(conversationId),
      edited_at: null,
      deleted_at: null,
      reply_to_id: extra.reply_to_id ?? null,
      attachments: extra.attachments ?? [],
      metadata: extra.metadata ?? {},
      reactions: [],
    };
    list.push(message);
    return message;
  }

  /** A conversation's version now (its latest change). */
  versionOf(conversationId: number): number {
    return this.versions.get(conversationId) ?? 0;
  }

  /** `userId` edits a message, which is broadcast (unless `silentBroadcast`); returns the event. */
  editMessage(messageId: number, userId: number, content: string): MessageUpdatedEvent {
    return this.changed(this.apply(userId, 'edit-message', this.find(messageId), { content }));
  }

  /** `userId` deletes a message (see `editMessage`). */
  deleteMessage(messageId: number, userId: number): MessageUpdatedEvent {
    return this.changed(this.apply(userId, 'delete-message', this.find(messageId), {}));
  }

  /** `userId` adds (or takes off) a reaction (see `editMessage`). */
  react(messageId: number, userId: number, emoji: string, add = true): MessageUpdatedEvent {
    return this.changed(this.apply(userId, 'react', this.find(messageId), { emoji, add }));
  }

  /** Emits message-updated to a conversation's room. */
  deliverUpdate(event: MessageUpdatedEvent): void {
    this.io.of('/chat').to(`conversation:${event.message.conversation_id}`).emit('message-updated', event);
  }

  /** A message as `userId` reads it in history and catch-ups: with `my_reactions`. */
  withMine(message: Message, userId: number): Message {
    const mine = [...(this.reactions.get(message.id) ?? new Map<string, Set<number>>())]
      .filter(([, users]) => users.has(userId))
      .map(([emoji]) => emoji);
    return { ...message, my_reactions: mine };
  }

  private nextVersion(conversationId: number): number {
    const version = this.versionOf(conversationId) + 1;
    this.versions.set(conversationId, version);
    return version;
  }

  private find(messageId: number): Message {
    for (const list of this.messages.values()) {
      const found = list.find((m) => m.id === messageId);
      if (found) return found;
    }
    throw new Error(`no message ${messageId}`);
  }

  private changed(outcome: ChangeOutcome | string): MessageUpdatedEvent {
    if (typeof outcome === 'string') throw new Error(outcome);
    if (!outcome.change) throw new Error('nothing changed');
    const event = { message: outcome.message, change: outcome.change };
    if (!this.silentBroadcast) this.deliverUpdate(event);
    return event;
  }

  /**
   * Makes a change as the chats service does: the author edits; the author or a group's owner (its first member)
   * deletes; members react once per emoji. Answers the refusal, or the message after the change (and the change,
   * null when there was nothing to change: no version is taken then).
   */
  private apply(
    userId: number,
    event: ChangeCall['event'],
    target: Message | undefined,
    args: { content?: string; emoji?: string; add?: boolean },
  ): ChangeOutcome | string {
    if (!target) return ErrorMessages.messageNotFound;
    const list = this.stored(target.conversation_id);
    const index = list.findIndex((m) => m.id === target.id);
    const current = list[index]!;
    const save = (message: Message, change: MessageChange): ChangeOutcome => {
      const saved = { ...message, version: this.nextVersion(message.conversation_id) };
      list[index] = saved;
      return { message: saved, change };
    };
    if (event === 'delete-message') {
      const owner = [...(this.members.get(current.conversation_id) ?? [])][0];
      if (current.sender_id !== userId && owner !== userId) return ErrorMessages.notAllowed;
      if (current.deleted_at) return { message: current, change: null };
      this.reactions.delete(current.id);
      const tombstone = { content: '', attachments: [], metadata: {}, reactions: [] };
      return save(
        { ...current, ...tombstone, deleted_at: new Date().toISOString() },
        { kind: 'deleted', user_id: userId },
      );
    }
    if (current.deleted_at) return ErrorMessages.messageNotFound;
    if (event === 'edit-message') {
      if (current.sender_id !== userId) return ErrorMessages.onlyAuthorEdits;
      if (current.content === args.content) return { message: current, change: null };
      return save(
        { ...current, content: args.content!, edited_at: new Date().toISOString() },
        { kind: 'edited', user_id: userId },
      );
    }
    const emoji = args.emoji!;
    let byEmoji = this.reactions.get(current.id);
    if (!byEmoji) this.reactions.set(current.id, (byEmoji = new Map()));
    const users = byEmoji.get(emoji) ?? new Set<number>();
    if (users.has(userId) === args.add) return { message: current, change: null };
    if (args.add) users.add(userId);
    else users.delete(userId);
    if (users.size > 0) byEmoji.set(emoji, users);
    else byEmoji.delete(emoji);
    const reactions = [...byEmoji]
      .map(([e, u]) => ({ emoji: e, count: u.size }))
      .sort((a, b) => b.count - a.count || (a.emoji < b.emoji ? -1 : 1));
    return save(
      { ...current, reactions },
      { kind: args.add ? 'reaction_added' : 'reaction_removed', user_id: userId, emoji },
    );
  }

  /** A system message (a membership change), stored and broadcast to the conversation's room. */
  storeSystem(conversationId: number, system: SystemInfo, content: string): Message {
    const message: Message = {
      ...this.store(conversationId, system.actor_id, content),
      message_type: 'system',
      system,
    };
    const list = this.stored(conversationId);
    list[list.length - 1] = message;
    if (!this.silentBroadcast) this.deliver(message);
    return message;
  }

  /** A group with these members (the first one its owner). */
  group(conversationId: number, memberIds: number[]): void {
    this.members.set(conversationId, new Set(memberIds));
    const marks = new Map(memberIds.map((id) => [id, 0]));
    this.lastRead.set(conversationId, marks);
  }

  /**
   * What the real gateway does when a member goes: the `member_removed` (or `member_left`) system message to the
   * room, then the member's sockets leave the room and get `conversation-removed`. `notify: false` changes the
   * membership only (as if the member's client was away when it happened).
   */
  removeMember(conversationId: number, userId: number, actorId = userId, notify = true): void {
    this.members.get(conversationId)?.delete(userId);
    this.lastRead.get(conversationId)?.delete(userId);
    const nsp = this.io.of('/chat');
    nsp.in(`user:${userId}`).socketsLeave(`conversation:${conversationId}`);
    const action = actorId === userId ? 'member_left' : 'member_removed';
    this.storeSystem(conversationId, { action, actor_id: actorId, user_ids: [userId] }, action);
    if (notify) nsp.to(`user:${userId}`).emit('conversation-removed', { conversationId });
  }

  /** A conversation as `userId` sees it. */
  conversationFor(conversationId: number, userId: number): Conversation {
    const list = this.stored(conversationId);
    const members = this.members.get(conversationId);
    const read = this.lastRead.get(conversationId)?.get(userId) ?? 0;
    return {
      id: conversationId,
      sender_id: 1,
      receiver_id: members ? null : 2,
      created_at: new Date(0).toISOString(),
      last_seq: list.length,
      last_message: list.at(-1) ?? null,
      unread_count: list.filter((m) => m.seq > read && m.sender_id !== userId && m.message_type !== 'system')
        .length,
      type: members ? 'group' : 'direct',
      title: members ? `group ${conversationId}` : null,
      member_count: members?.size ?? 2,
      metadata: {},
      version: this.versionOf(conversationId),
      my_role: 'member',
      muted: false,
      muted_until: null,
    };
  }

  stored(conversationId: number): Message[] {
    return this.messages.get(conversationId) ?? [];
  }

  /** Emits receive-message to a conversation's room. */
  deliver(message: Message): void {
    this.io.of('/chat').to(`conversation:${message.conversation_id}`).emit('receive-message', message);
  }

  private onConnection(socket: GatewaySocket): void {
    const userId = socket.data.userId;
    void socket.join(`user:${userId}`);
    this.armExpiry(socket, socket.data.exp);
    socket.on('disconnect', () => clearTimeout(socket.data.expiry));
    socket.on('authenticate', (payload, ack) => {
      this.authenticates.push(payload.token);
      if (this.dropAuthenticateAcks > 0) {
        this.dropAuthenticateAcks--;
        return;
      }
      const error = this.scripted('authenticate');
      if (error) return ack?.({ success: false, error });
      const claims = this.verify(payload.token);
      if (!claims || claims.userId !== userId || claims.exp === undefined) {
        return ack?.({ success: false, error: ErrorMessages.unauthorized });
      }
      socket.data.sid = claims.sid;
      this.armExpiry(socket, claims.exp);
      ack?.({ success: true, expires_at: new Date(claims.exp * 1000).toISOString() });
    });
    socket.on('send-message', (payload, ack) => {
      this.sends.push(payload);
      const scripted = this.scripted('send-message');
      if (scripted) return ack?.({ success: false, error: scripted });
      if (this.failNextSend) {
        const error = this.failNextSend;
        this.failNextSend = undefined;
        return ack?.({ success: false, error });
      }
      const existing = this.stored(payload.conversation_id).find(
        (m) => payload.client_message_id !== undefined && m.client_message_id === payload.client_message_id,
      );
      const message =
        existing ??
        this.store(
          payload.conversation_id,
          userId,
          payload.content,
          payload.client_message_id ?? null,
          payload,
        );
      if (!existing && !this.silentBroadcast) {
        socket.to(`conversation:${payload.conversation_id}`).emit('receive-message', message);
      }
      if (this.dropSendAcks > 0) {
        this.dropSendAcks--;
        return;
      }
      socket.emit('message-sent', message);
      ack?.({ success: true, message });
    });
    socket.on('join-conversation', (payload, ack) => {
      this.joins.push(payload);
      const refusal = this.scripted('join-conversation');
      if (refusal) return ack?.({ success: false, error: refusal });
      const notMember = this.notMember(payload.conversationId, userId);
      if (notMember) {
        ack?.({ success: false, error: notMember });
        socket.emit('error', { message: notMember }); // as the real gateway does, for clients without callbacks
        return;
      }
      void socket.join(`conversation:${payload.conversationId}`);
      const all = this.stored(payload.conversationId).map((m) => this.withMine(m, userId));
      const lastSeq = all.length;
      const version = this.versionOf(payload.conversationId);
      socket.emit('joined-conversation', {
        conversationId: payload.conversationId,
        success: true,
        last_seq: lastSeq,
        version,
      });
      const { since_seq, since_version } = payload;
      const after =
        since_version !== undefined
          ? all.filter((m) => m.version > since_version).sort((a, b) => a.version - b.version)
          : since_seq !== undefined
            ? all.filter((m) => m.seq > since_seq)
            : all.slice(-50);
      const latest = since_seq === undefined && since_version === undefined;
      const page = latest ? after : after.slice(0, this.catchUpMax);
      socket.emit('recent-messages', {
        conversationId: payload.conversationId,
        messages: page,
        has_more: latest ? all.length > 50 : after.length > page.length,
      });
      ack?.({
        success: true,
        conversationId: payload.conversationId,
        last_seq: lastSeq,
        last_read_seq: 0,
        version,
      });
    });
    const change = (call: ChangeCall, ack?: (response: MessageChangeAck) => void) => {
      this.changes.push(call);
      const refusal = this.scripted(call.event);
      if (refusal) return ack?.({ success: false, error: refusal });
      const { conversationId, messageId } = call.payload;
      const target = this.stored(conversationId).find((m) => m.id === messageId);
      const args = call.payload as { content?: string; emoji?: string; add?: boolean };
      const outcome = this.apply(userId, call.event, target, args);
      if (typeof outcome === 'string') return ack?.({ success: false, error: outcome });
      if (this.dropChangeAcks > 0) this.dropChangeAcks--;
      else ack?.({ success: true, message: outcome.message });
      if (outcome.change && !this.silentBroadcast) {
        this.deliverUpdate({ message: outcome.message, change: outcome.change });
      }
    };
    socket.on('edit-message', (payload, ack) => change({ event: 'edit-message', payload }, ack));
    socket.on('delete-message', (payload, ack) => change({ event: 'delete-message', payload }, ack));
    socket.on('react', (payload, ack) => change({ event: 'react', payload }, ack));
    socket.on('typing', (payload, ack) => {
      this.typings.push({ ...payload, at: Date.now() });
      socket.to(`conversation:${payload.conversationId}`).emit('user-typing', payload);
      ack?.({ success: true, conversationId: payload.conversationId });
    });
    socket.on('mark-read', (payload, ack) => {
      this.markReads.push(payload);
      const refusal = this.scripted('mark-read');
      if (refusal) return ack?.({ success: false, error: refusal });
      const seq = payload.seq ?? this.stored(payload.conversationId).length;
      const marks = this.lastRead.get(payload.conversationId);
      if (marks?.has(userId)) marks.set(userId, Math.max(marks.get(userId)!, seq));
      this.io
        .of('/chat')
        .to([`conversation:${payload.conversationId}`, `user:${userId}`])
        .emit('messages-read', { conversationId: payload.conversationId, userId, seq });
      ack?.({ success: true, conversationId: payload.conversationId, seq });
    });
  }

  /** `Unauthorized to join this conversation` when the conversation has members and `userId` is not one. */
  private notMember(conversationId: number, userId: number): string | undefined {
    const members = this.members.get(conversationId);
    return members && !members.has(userId) ? ErrorMessages.notParticipantJoin : undefined;
  }

  /**
   * The REST the SDK uses: history after a seq or a version (catch-ups and gaps), before a seq; POST /api/auth/refresh, /logout and
   * /logout-all; user lookup by username (`user<id>`); and for groups: create, get, members (paged), remove.
   */
  private rest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.restCalls.push(`${req.method} ${url.pathname}${url.search}`);
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body: unknown = raw ? JSON.parse(raw) : undefined;
      if (req.method === 'POST' && url.pathname.startsWith('/api/auth/')) {
        return this.auth(url.pathname, req, body, res);
      }
      const caller = Number(/^Bearer t-(\d+)$/.exec(req.headers.authorization ?? '')?.[1]);
      if (!caller) return reply(res, 401, { statusCode: 401, message: 'Unauthorized' });
      this.api(req.method ?? 'GET', url, caller, body, res);
    });
  }

  private api(method: string, url: URL, caller: number, body: unknown, res: ServerResponse): void {
    const path = url.pathname;
    const notFound = () => reply(res, 404, { statusCode: 404, message: 'Not Found' });
    if (method === 'GET' && path === '/api/users') {
      if (this.throttleLookups > 0) {
        this.throttleLookups--;
        res.setHeader('retry-after', '0');
        return reply(res, 429, { statusCode: 429, message: ErrorMessages.rateLimited });
      }
      const id = Number(/^user(\d+)$/.exec(url.searchParams.get('username') ?? '')?.[1]);
      return id
        ? reply(res, 200, userOf(id))
        : reply(res, 404, { statusCode: 404, message: 'User not found' });
    }
    if (method === 'POST' && path === '/api/chats/conversations') {
      const { member_ids } = body as { member_ids: number[] };
      const id = this.nextConversationId++;
      this.group(id, [caller, ...member_ids.filter((m) => m !== caller)]);
      this.storeSystem(id, { action: 'created', actor_id: caller, user_ids: member_ids }, 'created');
      return reply(res, 201, this.conversationFor(id, caller));
    }
    const m = /^\/api\/chats\/conversations\/(\d+)(\/messages|\/members(?:\/(\d+))?)?$/.exec(path);
    if (!m) return notFound();
    const conversationId = Number(m[1]);
    if (this.notMember(conversationId, caller)) {
      return reply(res, 403, { statusCode: 403, message: ErrorMessages.notParticipantRest });
    }
    if (method === 'GET' && m[2] === undefined)
      return reply(res, 200, this.conversationFor(conversationId, caller));
    if (method === 'GET' && m[2] === '/messages') {
      const q = (name: string) => url.searchParams.get(name);
      const limit = Number(q('limit') ?? 20);
      const all = this.stored(conversationId).map((msg) => this.withMine(msg, caller));
      if (q('before_seq') !== null) {
        const older = all.filter((msg) => msg.seq < Number(q('before_seq')));
        return reply(res, 200, { messages: older.slice(-limit), has_more: older.length > limit });
      }
      const after = Number(q('after_version') ?? q('after_seq') ?? 0);
      const rest =
        q('after_version') !== null
          ? all.filter((msg) => msg.version > after).sort((a, b) => a.version - b.version)
          : all.filter((msg) => msg.seq > after);
      return reply(res, 200, { messages: rest.slice(0, limit), has_more: rest.length > limit });
    }
    if (method === 'GET' && m[2] === '/members') {
      const after = Number(url.searchParams.get('cursor') ?? 0);
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 20), this.membersPageMax);
      const marks = this.lastRead.get(conversationId) ?? new Map<number, number>();
      const ids = [...(this.members.get(conversationId) ?? [])]
        .filter((id) => id > after)
        .sort((a, b) => a - b);
      const page = ids.slice(0, limit);
      const members: Member[] = page.map((id, i) => ({
        user: userOf(id),
        role: i === 0 && after === 0 ? 'owner' : 'member',
        joined_at: new Date(0).toISOString(),
        last_read_seq: marks.get(id) ?? 0,
      }));
      return reply(res, 200, { members, next_cursor: ids.length > limit ? String(page.at(-1)) : null });
    }
    if (method === 'DELETE' && m[3] !== undefined) {
      this.removeMember(conversationId, Number(m[3]), caller);
      return reply(res, 204);
    }
    notFound();
  }

  /**
   * Login (`user<id>`, any password) starts a session; refresh rotates the refresh token; logout ends the bearer's
   * session, logout-all every session of its user.
   */
  private auth(path: string, req: IncomingMessage, body: unknown, res: ServerResponse): void {
    if (path === '/api/auth/login') {
      const username = (body as { username?: string } | undefined)?.username ?? '';
      const userId = Number(/^user(\d+)$/.exec(username)?.[1]);
      if (!userId) return reply(res, 401, { statusCode: 401, message: ErrorMessages.invalidCredentials });
      const user = { id: userId, username, display_name: username, created_at: new Date(0).toISOString() };
      return reply(res, 200, { user, tokens: this.issue(userId) });
    }
    if (path === '/api/auth/refresh') {
      const refresh = (body as { refresh?: string } | undefined)?.refresh ?? '';
      const login = this.refreshTokens.get(refresh);
      this.refreshTokens.delete(refresh);
      if (!login || this.endedSessions.has(login.sid)) {
        return reply(res, 401, { statusCode: 401, message: ErrorMessages.invalidRefreshToken });
      }
      return reply(res, 200, { tokens: this.issue(login.userId, { sid: login.sid }) });
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    this.logouts.push({ path, token, body });
    const claims = this.verify(token);
    if (!claims?.sid) {
      const sid = decode(token)?.sid;
      const ended = sid !== undefined && this.endedSessions.has(sid);
      return reply(res, 401, {
        statusCode: 401,
        message: ended ? ErrorMessages.sessionEnded : ErrorMessages.unauthorized,
      });
    }
    const sids = new Set([claims.sid]);
    if (path === '/api/auth/logout-all') {
      const userId = claims.userId;
      for (const login of this.refreshTokens.values()) if (login.userId === userId) sids.add(login.sid);
      for (const s of this.sockets()) if (s.data.userId === userId && s.data.sid) sids.add(s.data.sid);
    } else if (path !== '/api/auth/logout') {
      return reply(res, 404, { statusCode: 404, message: 'Not Found' });
    }
    for (const sid of sids) this.endSession(sid);
    reply(res, 204);
  }
}

/** `t-<userId>` (never expires), or a JWT-shaped token's claims; not checked for expiry or sessions. */
function decode(token: string): TokenClaims | undefined {
  const plain = /^t-(\d+)$/.exec(token)?.[1];
  if (plain) return { userId: Number(plain) };
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      sub?: string;
      exp?: number;
      sid?: string;
    };
    const userId = Number(claims.sub);
    if (!Number.isSafeInteger(userId) || userId <= 0 || typeof claims.exp !== 'number') return undefined;
    return { userId, exp: claims.exp, sid: claims.sid };
  } catch {
    return undefined;
  }
}

function userOf(id: number): User {
  return { id, username: `user${id}`, display_name: `User ${id}`, created_at: new Date(0).toISOString() };
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
