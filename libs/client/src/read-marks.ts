import type {
  Conversation,
  Id,
  MarkReadAck,
  Member,
  Message,
  MessagesReadEvent,
} from '@parley/contracts/wire';
import type { RequestResult } from './chat-socket.js';
import type { Connection } from './connection.js';
import type { Emit } from './events.js';
import { isRetryableRefusal } from './refusals.js';
import type { Timer } from './util.js';

interface ReadState {
  lastSeq: number;
  /** Your read mark; undefined until the server told it. */
  readSeq?: number;
  /** Other members' read marks (every member of a group, once known: `trackMembers`, events, their messages). */
  marks: Map<Id, number>;
  unread?: number;
}

/**
 * Read marks and unread counts: your mark (moved by `markRead`, by your other devices and by your own messages),
 * the other members' marks ("seen by"), and your unread count per conversation, kept from the messages seen,
 * joins, `conversation-updated` and `messages-read`. Mark-reads that could not be sent wait for the reconnect
 * or a backoff.
 *
 * Your mark here is the one the count is made from: `conversation-updated` tells the server's count, and system
 * messages never count (they record a change, nobody has to read them), so the mark is moved past them.
 */
export class ReadMarks {
  private readonly reads = new Map<Id, ReadState>();
  private readonly pendingReads = new Map<Id, number | undefined>();
  private readRetryTimer?: Timer;
  private readRetries = 0;

  constructor(
    private readonly connection: Connection,
    private readonly emit: Emit,
  ) {}

  async markRead(conversationId: Id, seq?: number): Promise<number> {
    const state = this.readState(conversationId);
    const optimistic = seq ?? state.lastSeq;
    state.readSeq = Math.max(state.readSeq ?? 0, Math.min(optimistic, state.lastSeq));
    this.emitUnread(conversationId);
    const socket = this.connection.socket;
    const result: RequestResult<MarkReadAck> = socket?.connected
      ? await this.connection.request<MarkReadAck>(socket, 'mark-read', {
          conversationId,
          ...(seq === undefined ? {} : { seq }),
        })
      : 'disconnected';
    if (result === 'disconnected') {
      this.queueRead(conversationId, seq); // sent after the reconnect
      return state.readSeq;
    }
    if (result === 'timeout') return state.readSeq; // not worth a retry: the next mark-read carries it
    if (!result.ack.success) {
      if (!isRetryableRefusal(result.ack.error)) throw new Error(result.ack.error);
      this.queueRead(conversationId, seq);
      this.scheduleReadRetry();
      return state.readSeq;
    }
    this.readRetries = 0;
    state.readSeq = Math.max(state.readSeq, result.ack.seq);
    this.emitUnread(conversationId);
    return result.ack.seq;
  }

  /** Sends the mark-reads that waited (for the reconnect, or for a retry). */
  sendPending(): void {
    if (!this.connection.socket?.connected) return; // sent after the reconnect
    for (const [conversationId, seq] of [...this.pendingReads]) {
      this.pendingReads.delete(conversationId);
      this.markRead(conversationId, seq).catch((err: unknown) => this.emit('error', err as Error));
    }
  }

  /** The connection ended: the retry waits for the next one (which sends what is pending). */
  stopRetry(): void {
    clearTimeout(this.readRetryTimer);
    this.readRetryTimer = undefined;
  }

  trackConversations(conversations: Conversation[]): void {
    for (const c of conversations) {
      const state = this.readState(c.id);
      state.lastSeq = Math.max(state.lastSeq, c.last_seq);
      state.readSeq = Math.max(state.readSeq ?? 0, c.last_seq - c.unread_count);
      const last = c.last_message;
      if (last && last.sender_id !== this.connection.userId) {
        state.marks.set(last.sender_id, Math.max(state.marks.get(last.sender_id) ?? 0, last.seq));
      }
      this.emitUnread(c.id);
    }
  }

  unreadCount(conversationId: Id): number | undefined {
    return this.reads.get(conversationId)?.unread;
  }

  readMark(conversationId: Id, userId: Id): number {
    return this.reads.get(conversationId)?.marks.get(userId) ?? 0;
  }

  /** The other members who have read `seq` (their mark is at or past it), in user id order. */
  seenBy(conversationId: Id, seq: number): Id[] {
    const marks = this.reads.get(conversationId)?.marks;
    if (!marks) return [];
    const ids: Id[] = [];
    for (const [userId, mark] of marks)
      if (mark >= seq && userId !== this.connection.userId) ids.push(userId);
    return ids.sort((a, b) => a - b);
  }

  /**
   * Read receipts from a members page (`last_read_seq`). `complete`: these are all the members, so marks of users
   * not among them (they left) go.
   */
  trackMembers(conversationId: Id, members: Member[], complete = false): void {
    const state = this.readState(conversationId);
    const me = this.connection.userId;
    if (complete) {
      const ids = new Set(members.map((m) => m.user.id));
      for (const userId of [...state.marks.keys()]) if (!ids.has(userId)) state.marks.delete(userId);
    }
    for (const m of members) {
      if (m.user.id === me) continue;
      state.marks.set(m.user.id, Math.max(state.marks.get(m.user.id) ?? 0, m.last_read_seq));
    }
  }

  /** You are no longer a member: nothing is kept of the conversation (and no mark-read for it waits). */
  forget(conversationId: Id): void {
    this.reads.delete(conversationId);
    this.pendingReads.delete(conversationId);
  }

  /** A join's answer: the conversation's last seq and your read mark. */
  joined(conversationId: Id, lastSeq: number, lastReadSeq: number): void {
    const state = this.readState(conversationId);
    state.lastSeq = Math.max(state.lastSeq, lastSeq);
    state.readSeq = Math.max(state.readSeq ?? 0, lastReadSeq);
    this.emitUnread(conversationId);
  }

  /** `conversation-updated`: raised as a `conversation` event, then the unread count it implies. */
  conversationUpdated(conversation: Conversation): void {
    const state = this.readState(conversation.id);
    state.lastSeq = Math.max(state.lastSeq, conversation.last_seq);
    state.readSeq = Math.max(state.readSeq ?? 0, conversation.last_seq - conversation.unread_count);
    this.emit('conversation', conversation);
    this.emitUnread(conversation.id);
  }

  /** `messages-read`: your mark (from any of your devices) or another participant's. */
  onRead(event: MessagesReadEvent): void {
    const state = this.readState(event.conversationId);
    if (event.userId === this.connection.userId) {
      state.readSeq = Math.max(state.readSeq ?? 0, event.seq);
      this.emitUnread(event.conversationId);
    } else {
      state.marks.set(event.userId, Math.max(state.marks.get(event.userId) ?? 0, event.seq));
    }
    this.emit('read', event);
  }

  /** Read bookkeeping of a message: sending moves the sender's own read mark to it. */
  noteMessage(m: Message): void {
    const state = this.readState(m.conversation_id);
    const fresh = m.seq > state.lastSeq;
    state.lastSeq = Math.max(state.lastSeq, m.seq);
    if (m.sender_id === this.connection.userId) {
      state.readSeq = Math.max(state.readSeq ?? 0, m.seq);
    } else {
      const before = state.marks.get(m.sender_id) ?? 0;
      if (m.seq > before) state.marks.set(m.sender_id, m.seq);
      // Not unread: the count stays as it was. (One already counted by a `conversation-updated` is not fresh.)
      if (fresh && m.message_type === 'system' && state.readSeq !== undefined && state.readSeq < m.seq) {
        state.readSeq++;
      }
    }
    const system = m.system;
    if (system && (system.action === 'member_removed' || system.action === 'member_left')) {
      for (const userId of system.user_ids) state.marks.delete(userId); // gone: no longer among "seen by"
    }
    this.emitUnread(m.conversation_id);
  }

  /** Remembers a mark-read to send later, merged with one already waiting (`undefined`, everything, wins). */
  private queueRead(conversationId: Id, seq: number | undefined): void {
    const queued = this.pendingReads.get(conversationId);
    const all = seq === undefined || (this.pendingReads.has(conversationId) && queued === undefined);
    this.pendingReads.set(conversationId, all ? undefined : Math.max(seq, queued ?? 0));
  }

  /** One timer for all the refused mark-reads: those refused meanwhile are merged into it, not multiplied. */
  private scheduleReadRetry(): void {
    if (this.readRetryTimer !== undefined) return;
    this.readRetryTimer = setTimeout(() => {
      this.readRetryTimer = undefined;
      this.sendPending();
    }, this.connection.retryDelay(this.readRetries++));
  }

  private readState(conversationId: Id): ReadState {
    let state = this.reads.get(conversationId);
    if (!state) this.reads.set(conversationId, (state = { lastSeq: 0, marks: new Map() }));
    return state;
  }

  private emitUnread(conversationId: Id): void {
    const state = this.readState(conversationId);
    if (state.readSeq === undefined) return;
    const unread = Math.max(0, state.lastSeq - state.readSeq);
    if (unread === state.unread) return;
    state.unread = unread;
    this.emit('unread', { conversationId, count: unread });
  }
}
