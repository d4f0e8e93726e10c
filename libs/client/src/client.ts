import type { Conversation, Id, Member, Message, MessageChange, MessagePage } from '@parley/contracts/wire';
import { MessageChanges, type MessageChangeRequest } from './changes.js';
import type { ChatSocket } from './chat-socket.js';
import { Connection } from './connection.js';
import { Emitter } from './emitter.js';
import type { ConnectionState, Emit, ParleyClientEvents } from './events.js';
import { Groups, type CreateGroupOptions } from './groups.js';
import { Joins } from './joins.js';
import { MessageStore } from './message-store.js';
import type { ParleyClientOptions } from './options.js';
import { Outbox, type PendingSend, type SendOptions } from './outbox.js';
import { Presence } from './presence.js';
import { ReadMarks } from './read-marks.js';
import type { HistoryQuery } from './rest.js';
import { TypingIndicators } from './typing.js';

// What this module exported before its parts moved out (index.ts exports them from their own files).
export type { ChatSocket, RequestResult } from './chat-socket.js';
export type { ConnectionState, MessageUpdate, ParleyClientEvents, StateChange } from './events.js';
export type { CreateGroupOptions } from './groups.js';
export { ParleyChangeError } from './changes.js';
export type { ParleyClientOptions } from './options.js';
export { ParleySendError, type PendingSend, type SendOptions } from './outbox.js';
export { isRetryableRefusal, isTransient } from './refusals.js';

/**
 * A Parley chat client over socket.io-client, for browsers and Node. It reconnects by itself (exponential
 * backoff with jitter, moving through `urls`, refreshing the token on `Unauthorized`), re-joins your
 * conversations with `since_version` and delivers every message once and in seq order, and every later change of
 * one (edits, deletions, reactions) as `messageUpdated`; queues sends and changes while offline and retries them
 * (idempotently), and keeps presence, typing and unread counts current.
 *
 * This class is the facade: each job is a part of its own (connection.ts, joins.ts, message-store.ts, outbox.ts and
 * changes.ts on acked-queue.ts, read-marks.ts, presence.ts, typing.ts, groups.ts), wired here; the parts raise this
 * client's events.
 */
export class ParleyClient extends Emitter<ParleyClientEvents> {
  private readonly connection: Connection;
  private readonly joins: Joins;
  private readonly outbox: Outbox;
  private readonly changes: MessageChanges;
  private readonly store: MessageStore;
  private readonly reads: ReadMarks;
  private readonly presence: Presence;
  private readonly typingIndicators: TypingIndicators;
  private readonly groups: Groups;

  constructor(options: ParleyClientOptions) {
    super();
    const emit: Emit = (event, ...args) => this.emit(event, ...args);
    this.connection = new Connection(options, emit, {
      listen: (socket, current) => this.listen(socket, current),
      connected: (socket) => {
        this.joins.rejoin(socket);
        this.reads.sendPending();
        void this.outbox.flush();
        void this.changes.flush();
      },
      disconnected: () => {
        this.presence.clear();
        this.typingIndicators.reset();
      },
      stopTimers: () => this.reads.stopRetry(),
      closed: (reason) => {
        this.outbox.close(reason);
        this.changes.close(reason);
        this.joins.close(reason);
        this.typingIndicators.close();
      },
    });
    this.presence = new Presence(emit);
    this.typingIndicators = new TypingIndicators(this.connection, emit, options);
    this.reads = new ReadMarks(this.connection, emit);
    this.store = new MessageStore(Math.max(1, options.messageStoreLimit ?? 2_000));
    this.joins = new Joins(
      this.connection,
      this.reads,
      this.typingIndicators,
      emit,
      this.store,
      options,
      (id) => this.groups.onRemoved(id),
    );
    this.outbox = new Outbox(this.connection, (message) => this.joins.accept(message), options);
    this.changes = new MessageChanges(
      this.connection,
      (message, request) => this.changeAcknowledged(message, request),
      options,
    );
    this.groups = new Groups(this.connection, this.joins, this.reads, this.typingIndicators, emit);
  }

  /** Where the server events of a socket go (none once it is not the current one). */
  private listen(socket: ChatSocket, current: () => boolean): void {
    // What was on its way about a conversation you are no longer a member of is dropped.
    const live = (conversationId: Id) => current() && !this.groups.isRemoved(conversationId);
    socket.on('receive-message', (m) => live(m.conversation_id) && this.joins.accept(m));
    socket.on('message-sent', (m) => live(m.conversation_id) && this.joins.accept(m));
    socket.on('recent-messages', (e) => live(e.conversationId) && this.joins.onRecent(e));
    socket.on('message-updated', ({ message, change }) => {
      if (!live(message.conversation_id)) return;
      // Yours, from another device (or this one, before the answer): what it says of your reactions holds too.
      const mine = change.user_id === this.connection.userId && change.emoji !== undefined;
      const fact = mine ? { emoji: change.emoji!, present: change.kind === 'reaction_added' } : undefined;
      this.joins.update(message, change, fact);
    });
    socket.on(
      'joined-conversation',
      (e) => live(e.conversationId) && this.joins.hear(e.conversationId, e.version),
    );
    socket.on('user:online', ({ userId }) => current() && this.presence.set(userId, true));
    socket.on('user:offline', ({ userId }) => current() && this.presence.set(userId, false));
    socket.on('user-typing', (e) => live(e.conversationId) && this.typingIndicators.onTyping(e));
    socket.on('messages-read', (e) => live(e.conversationId) && this.reads.onRead(e));
    socket.on('conversation-updated', ({ conversation }) => {
      if (!current()) return;
      if (!this.groups.isRemoved(conversation.id)) this.joins.hear(conversation.id, conversation.version);
      this.groups.conversationUpdated(conversation);
    });
    socket.on(
      'conversation-removed',
      ({ conversationId }) => current() && this.groups.onRemoved(conversationId),
    );
  }

  // ---- connection -------------------------------------------------------------------------------------------

  get state(): ConnectionState {
    return this.connection.state;
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  /** `close()` was called (or no token could be had). */
  get closed(): boolean {
    return this.connection.closed;
  }

  /** Your user id, once known (from the option or the first token). */
  get userId(): Id | undefined {
    return this.connection.userId;
  }

  /** The gateway of the current connection (or of the next attempt). */
  get url(): string {
    return this.connection.url;
  }

  /**
   * Starts connecting (and keeps reconnecting until `close()`). Resolves once connected; rejects only when the
   * client closes first (e.g. the token source failed with 401: the user must log in again).
   */
  connect(): Promise<void> {
    return this.connection.connect();
  }

  /** Ends a backoff wait and tries now (e.g. on the browser's `online` event). */
  reconnectNow(): void {
    this.connection.reconnectNow();
  }

  /** Disconnects for good: pending sends, changes and joins reject, timers stop. */
  close(): void {
    this.connection.close();
  }

  // ---- conversations and messages ---------------------------------------------------------------------------

  /**
   * Joins a conversation (now and after every reconnect) and delivers its messages as `message` events, and their
   * later changes as `messageUpdated`. The first join delivers the latest 50 (older ones: `history(id,
   * {before_seq})`), or, with `sinceSeq`, everything after that seq; with `sinceSeq` and `sinceVersion` (what an
   * app kept from `lastSeq()` and `version()`), the new messages after that seq and every change after that version.
   * Re-joins catch up by version. Resolves once the server confirmed the join.
   */
  join(conversationId: Id, options: { sinceSeq?: number; sinceVersion?: number } = {}): Promise<void> {
    this.groups.restore(conversationId);
    return this.joins.join(conversationId, options);
  }

  /** Stops receiving a conversation's messages (and no longer re-joins it). */
  leave(conversationId: Id): Promise<void> {
    return this.joins.leave(conversationId);
  }

  /** The conversations joined (and re-joined after reconnects). */
  get conversations(): Id[] {
    return this.joins.ids;
  }

  /** The highest seq delivered for a joined conversation (nothing missing before it). */
  lastSeq(conversationId: Id): number | undefined {
    return this.joins.lastSeq(conversationId);
  }

  /**
   * The version of a joined conversation up to which every change has been delivered (as `message` or
   * `messageUpdated`); undefined until its join was answered.
   */
  version(conversationId: Id): number | undefined {
    return this.joins.version(conversationId);
  }

  /** The newest state known of a message (one delivered, changed, or in a `history` page), if the client has it. */
  message(conversationId: Id, messageId: Id): Message | undefined {
    return this.store.get(conversationId, messageId);
  }

  /** Your reactions to a message, as far as the client knows (in the order of its `reactions`). */
  myReactions(conversationId: Id, messageId: Id): string[] {
    return this.store.myReactions(conversationId, messageId);
  }

  /**
   * A page of history over REST (`ParleyRest.messages`), kept in the client's store so that `myReactions` and later
   * `messageUpdated` events know its messages. Each message is the newest state known of it.
   */
  history(conversationId: Id, query: HistoryQuery = {}): Promise<MessagePage> {
    return this.joins.history(conversationId, query);
  }

  /**
   * Sends a message: resolves with the stored message once the server acknowledged it. Sent in order, queued
   * while disconnected, retried with the same `client_message_id` when no ack comes, so never stored twice.
   * Refusals for now (rate limit, service busy, no chats instance answering, Redis down) are retried with a
   * backoff until they pass. Rejects (`ParleySendError`) when the server refuses it for good, or after
   * `maxSendAttempts` tries that got no answer or an `Internal server error`.
   */
  send(conversationId: Id, content: string, options: SendOptions = {}): Promise<Message> {
    this.typingIndicators.stopTyping(conversationId);
    return this.outbox.send(conversationId, content, options);
  }

  /** Sends not yet acknowledged, oldest first (for a "sending…" state in the UI). */
  get pending(): PendingSend[] {
    return this.outbox.pending;
  }

  // ---- changes of messages ------------------------------------------------------------------------------------

  /**
   * Replaces the content of your text message (sets `edited_at`). Resolves with the message after the edit (also
   * raised as `messageUpdated`). Changes are sent one at a time, in order, queued while disconnected, and tried
   * again when no answer comes (harmless: a change that changes nothing takes no effect). Rejects
   * (`ParleyChangeError`) when the server refuses (`Only the author can edit this message`, `Message not found`…).
   */
  editMessage(conversationId: Id, messageId: Id, content: string): Promise<Message> {
    return this.changes.request({ event: 'edit-message', payload: { conversationId, messageId, content } });
  }

  /**
   * Deletes a message: yours, or in a group where you are the owner or an admin, anyone's. It stays in its place as
   * a tombstone (`deleted_at` set, content, attachments and reactions gone): resolves with it. Deleting it again
   * changes nothing.
   */
  deleteMessage(conversationId: Id, messageId: Id): Promise<Message> {
    return this.changes.request({ event: 'delete-message', payload: { conversationId, messageId } });
  }

  /** Adds your reaction `emoji` (1–32 characters; once per emoji: again changes nothing). */
  react(conversationId: Id, messageId: Id, emoji: string): Promise<Message> {
    return this.changes.request({ event: 'react', payload: { conversationId, messageId, emoji, add: true } });
  }

  /** Takes your reaction `emoji` off a message (if it is there). */
  unreact(conversationId: Id, messageId: Id, emoji: string): Promise<Message> {
    return this.changes.request({
      event: 'react',
      payload: { conversationId, messageId, emoji, add: false },
    });
  }

  /** Edits, deletions and reactions not yet acknowledged, oldest first. */
  get pendingChanges(): MessageChangeRequest[] {
    return this.changes.pending;
  }

  /** The answer to one of your changes: the message as it is now, and, for a reaction, yours as of its version. */
  private changeAcknowledged(message: Message, request: MessageChangeRequest): void {
    const me = this.connection.userId!;
    let change: MessageChange;
    if (request.event === 'react') {
      const { emoji, add } = request.payload;
      change = { kind: add ? 'reaction_added' : 'reaction_removed', user_id: me, emoji };
      this.joins.update(message, change, { emoji, present: add });
    } else {
      change = { kind: request.event === 'edit-message' ? 'edited' : 'deleted', user_id: me };
      this.joins.update(message, change);
    }
  }

  // ---- read marks and unread counts -------------------------------------------------------------------------

  /**
   * Marks a conversation read up to `seq` (default: everything). Your unread count drops at once; the server's
   * answer (and `messages-read`) confirm it. While disconnected it is sent after the reconnect; refused for now
   * (rate limit, busy) it is sent again after a backoff. Either way it resolves at once with the local mark.
   * Rejects when the server refuses it for good.
   */
  markRead(conversationId: Id, seq?: number): Promise<number> {
    return this.reads.markRead(conversationId, seq);
  }

  /**
   * Seeds counts from a REST conversation list (`ParleyRest.conversations()`), so that `unread` events and
   * `unreadCount` are right before any event arrived.
   */
  trackConversations(conversations: Conversation[]): void {
    this.groups.track(conversations);
    // A joined one's version tells of changes that should have come (if they did not, they are caught up).
    for (const c of conversations) this.joins.hear(c.id, c.version);
  }

  /** Your unread count (undefined until known: after a join, a `conversation-updated`, or `trackConversations`). */
  unreadCount(conversationId: Id): number | undefined {
    return this.reads.unreadCount(conversationId);
  }

  /**
   * How far `userId` has read (at least up to their own latest message, since sending moves the sender's mark).
   * Known from `messages-read` events and from the messages seen.
   */
  readMark(conversationId: Id, userId: Id): number {
    return this.reads.readMark(conversationId, userId);
  }

  /**
   * "Seen by": the other members who have read message `seq`, in user id order. Known from `messages-read`, their
   * own messages, and the read receipts of `members()` (or `trackMembers`): load those when a group is opened.
   */
  seenBy(conversationId: Id, seq: number): Id[] {
    return this.reads.seenBy(conversationId, seq);
  }

  /** Seeds read receipts from a page of `ParleyRest.members()` (`last_read_seq` of each member). */
  trackMembers(conversationId: Id, members: Member[]): void {
    this.reads.trackMembers(conversationId, members);
  }

  // ---- groups ---------------------------------------------------------------------------------------------------

  /**
   * Creates a group of yours with the users named in `usernames` (and/or `userIds`); resolves once it exists, and
   * tracks it. An unknown username rejects with a 404 `ParleyApiError` (`User not found: <name>`) and creates
   * nothing. The others learn of it from their `conversation` event.
   */
  createGroup(options: CreateGroupOptions): Promise<Conversation> {
    return this.groups.createGroup(options);
  }

  /** Every member of a conversation with their role and read receipt (REST, paged to the end); seeds `seenBy`. */
  members(conversationId: Id): Promise<Member[]> {
    return this.groups.members(conversationId);
  }

  /** Leaves a group (REST); it is dropped here at once, with a `conversationRemoved` event. */
  leaveGroup(conversationId: Id): Promise<void> {
    return this.groups.leaveGroup(conversationId);
  }

  // ---- presence -----------------------------------------------------------------------------------------------

  /** The contacts online now (users who share a conversation with you). */
  get online(): ReadonlySet<Id> {
    return this.presence.online;
  }

  isOnline(userId: Id): boolean {
    return this.presence.isOnline(userId);
  }

  // ---- typing ---------------------------------------------------------------------------------------------------

  /**
   * Call on every keystroke: sends "typing" at most once per `refreshMs`, and "stopped" after `idleMs` without a
   * call (or on `stopTyping`, or when you send).
   */
  typing(conversationId: Id): void {
    this.typingIndicators.typing(conversationId);
  }

  /** Says you stopped typing (if you had started). */
  stopTyping(conversationId: Id): void {
    this.typingIndicators.stopTyping(conversationId);
  }

  /** Who is typing in a conversation now (others only). */
  typingUsers(conversationId: Id): Id[] {
    return this.typingIndicators.typingUsers(conversationId);
  }
}
