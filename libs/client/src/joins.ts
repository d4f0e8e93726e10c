import {
  ErrorMessages,
  type Id,
  type JoinConversationAck,
  type Message,
  type RecentMessagesEvent,
} from '@parley/contracts/wire';
import type { ChatSocket } from './chat-socket.js';
import type { Connection } from './connection.js';
import type { Emit } from './events.js';
import type { ParleyClientOptions } from './options.js';
import type { ReadMarks } from './read-marks.js';
import { isRetryableRefusal } from './refusals.js';
import { MessageSequencer } from './sequencer.js';
import type { TypingIndicators } from './typing.js';
import type { Timer } from './util.js';

interface JoinedConversation {
  id: Id;
  sequencer: MessageSequencer;
  /** What the join being answered asked for: the latest messages, or those after a seq (a catch-up). */
  mode: 'latest' | 'since';
  catchingUp: boolean;
  /** The first join found more history than it delivered. */
  hasOlder: boolean;
  /** A join went through once: a final refusal after that means you are no longer a member. */
  confirmed: boolean;
  gapTimer?: Timer;
  gapFailures: number;
  waiters: Array<{ resolve: () => void; reject: (error: Error) => void }>;
}

/**
 * The conversations joined, and the delivery of their messages. Each is joined again after every reconnect (with
 * `since_seq` once something was delivered), caught up over REST when the catch-up holds more than the server
 * sends, and every message (live, catch-up, ack, REST) goes through the conversation's MessageSequencer: delivered
 * as a `message` event once, in seq order, with gaps that do not fill fetched or, at worst, skipped.
 *
 * A conversation you were removed from (or left) is dropped (`drop`): no leave is sent, the server has taken its
 * room from your sockets already. A re-join refused for good (removed while disconnected) is reported to `lost`.
 */
export class Joins {
  private readonly joined = new Map<Id, JoinedConversation>();

  constructor(
    private readonly connection: Connection,
    private readonly reads: ReadMarks,
    private readonly typing: TypingIndicators,
    private readonly emit: Emit,
    private readonly options: Pick<ParleyClientOptions, 'gapTimeoutMs'>,
    /** A conversation joined before whose re-join was refused for good: you are no longer a member. */
    private readonly lost: (conversationId: Id) => void,
  ) {}

  join(conversationId: Id, options: { sinceSeq?: number } = {}): Promise<void> {
    let conversation = this.joined.get(conversationId);
    if (!conversation) {
      conversation = {
        id: conversationId,
        sequencer: new MessageSequencer(),
        mode: 'latest',
        catchingUp: false,
        hasOlder: false,
        confirmed: false,
        gapFailures: 0,
        waiters: [],
      };
      this.joined.set(conversationId, conversation);
    }
    if (options.sinceSeq !== undefined)
      this.deliver(conversation, conversation.sequencer.start(options.sinceSeq));
    const joined = conversation;
    const confirmed = new Promise<void>((resolve, reject) => joined.waiters.push({ resolve, reject }));
    const socket = this.connection.socket;
    if (socket?.connected) void this.joinOn(socket, conversation);
    return confirmed;
  }

  async leave(conversationId: Id): Promise<void> {
    const conversation = this.joined.get(conversationId);
    if (!conversation) return;
    this.joined.delete(conversationId);
    clearTimeout(conversation.gapTimer);
    for (const w of conversation.waiters.splice(0)) w.reject(new Error('Left the conversation'));
    const socket = this.connection.socket;
    if (socket?.connected) await this.connection.request(socket, 'leave-conversation', { conversationId });
  }

  /** You are no longer a member: stop re-joining it; a join waiting for its answer rejects with `reason`. */
  drop(conversationId: Id, reason: Error): void {
    const conversation = this.joined.get(conversationId);
    if (!conversation) return;
    this.joined.delete(conversationId);
    clearTimeout(conversation.gapTimer);
    for (const w of conversation.waiters.splice(0)) w.reject(reason);
  }

  get ids(): Id[] {
    return [...this.joined.keys()];
  }

  lastSeq(conversationId: Id): number | undefined {
    return this.joined.get(conversationId)?.sequencer.lastSeq;
  }

  /** A new connection: every conversation is joined on it again. */
  rejoin(socket: ChatSocket): void {
    for (const conversation of this.joined.values()) void this.joinOn(socket, conversation);
  }

  /** The client closed: joins waiting for their answer reject, gap timers stop. */
  close(reason: Error): void {
    for (const conversation of this.joined.values()) {
      clearTimeout(conversation.gapTimer);
      for (const w of conversation.waiters.splice(0)) w.reject(reason);
    }
  }

  /** Any message from the server (live, catch-up, ack): through the sequencer of its conversation. */
  accept(message: Message): void {
    const conversation = this.joined.get(message.conversation_id);
    if (conversation) {
      this.deliver(conversation, conversation.sequencer.push(message));
      this.watchGap(conversation);
    } else {
      this.reads.noteMessage(message);
    }
  }

  onRecent(event: RecentMessagesEvent): void {
    const conversation = this.joined.get(event.conversationId);
    if (!conversation) return;
    const first = event.messages[0];
    if (!conversation.sequencer.started) {
      // The latest messages: delivery starts with the first of them (what lies before is history, over REST).
      this.deliver(conversation, conversation.sequencer.start(first ? first.seq - 1 : 0));
      conversation.hasOlder = event.has_more;
    }
    for (const m of event.messages) this.deliver(conversation, conversation.sequencer.push(m));
    if (conversation.mode === 'since' && event.has_more) {
      void this.fetchAfter(conversation); // more than a catch-up holds: page on over REST
    } else {
      conversation.catchingUp = false;
      this.watchGap(conversation);
    }
  }

  private async joinOn(socket: ChatSocket, conversation: JoinedConversation): Promise<void> {
    let refusals = 0;
    for (let attempt = 1; ; attempt++) {
      const since = conversation.sequencer.lastSeq;
      conversation.mode = since === undefined ? 'latest' : 'since';
      conversation.catchingUp = true;
      const result = await this.connection.request<JoinConversationAck>(socket, 'join-conversation', {
        conversationId: conversation.id,
        userId: this.connection.userId,
        ...(since === undefined ? {} : { since_seq: since }),
      });
      if (this.joined.get(conversation.id) !== conversation) return; // left meanwhile
      if (result === 'disconnected') return; // re-joined after the reconnect
      if (result === 'timeout') {
        if (attempt < 3) continue;
        this.emit('error', new Error(`join-conversation ${conversation.id}: no answer`));
        socket.disconnect(); // a connection that does not answer is replaced (the reconnect re-joins)
        return;
      }
      const ack = result.ack;
      if (!ack.success && isRetryableRefusal(ack.error)) {
        // Refused for now, not for good: the conversation stays joined and the join is tried again. (An answer:
        // the count of unanswered tries starts over.)
        attempt = 0;
        await this.connection.retryWait(this.connection.retryDelay(refusals++));
        if (this.connection.socket !== socket || !socket.connected) return; // re-joined after the reconnect
        if (this.joined.get(conversation.id) !== conversation) return;
        continue;
      }
      if (!ack.success) {
        this.joined.delete(conversation.id);
        const error = new Error(ack.error);
        for (const w of conversation.waiters.splice(0)) w.reject(error);
        // Joined before, refused now: removed from it while this client was away (not a problem to report).
        if (conversation.confirmed && isNoLongerMember(ack.error)) {
          this.connection.handledRefusal(socket, ack.error);
          this.lost(conversation.id);
        } else {
          this.emit('error', error);
        }
        return;
      }
      conversation.confirmed = true;
      this.reads.joined(conversation.id, ack.last_seq, ack.last_read_seq);
      // recent-messages came before this ack: the catch-up is delivered (or being paged in over REST).
      this.emit('joined', {
        conversationId: conversation.id,
        lastSeq: ack.last_seq,
        lastReadSeq: ack.last_read_seq,
        hasOlder: conversation.hasOlder,
      });
      for (const w of conversation.waiters.splice(0)) w.resolve();
      return;
    }
  }

  /** Fetches, over REST, everything after the last delivered seq (a long catch-up, or a gap that did not fill). */
  private async fetchAfter(conversation: JoinedConversation): Promise<void> {
    conversation.catchingUp = true;
    try {
      for (;;) {
        const after = conversation.sequencer.lastSeq ?? 0;
        const page = await this.connection.rest().messages(conversation.id, { after_seq: after, limit: 100 });
        if (this.joined.get(conversation.id) !== conversation) return;
        for (const m of page.messages) this.deliver(conversation, conversation.sequencer.push(m));
        if (!page.has_more || page.messages.length === 0) break;
      }
      conversation.gapFailures = 0;
    } catch (err) {
      conversation.gapFailures++;
      this.emit('error', err as Error);
    } finally {
      conversation.catchingUp = false;
    }
    this.watchGap(conversation);
  }

  /**
   * A message that arrived before one it follows waits for it: usually a moment (two senders' messages crossing
   * on different gateways). If the gap is still there after `gapTimeoutMs`, fetch it; if that keeps failing,
   * skip it and say so (`gap` event) rather than hold everything back forever.
   */
  private watchGap(conversation: JoinedConversation): void {
    if (conversation.gapTimer || conversation.catchingUp || !conversation.sequencer.gap()) return;
    conversation.gapTimer = setTimeout(() => {
      conversation.gapTimer = undefined;
      if (this.joined.get(conversation.id) !== conversation || this.connection.closed) return;
      const gap = conversation.sequencer.gap();
      if (!gap) return;
      if (conversation.gapFailures >= 3) {
        conversation.gapFailures = 0;
        this.emit('gap', { conversationId: conversation.id, ...gap });
        this.deliver(conversation, conversation.sequencer.skipGap());
        this.watchGap(conversation);
        return;
      }
      void this.fetchAfter(conversation);
    }, this.options.gapTimeoutMs ?? 2_000);
  }

  private deliver(conversation: JoinedConversation, messages: Message[]): void {
    for (const m of messages) {
      this.reads.noteMessage(m);
      this.typing.clear(m.conversation_id, m.sender_id);
      this.emit('message', m);
    }
    if (conversation.gapTimer && conversation.sequencer.gap() === undefined) {
      clearTimeout(conversation.gapTimer);
      conversation.gapTimer = undefined;
    }
  }
}

/** The refusals of a join that mean the conversation is not yours (any more), as opposed to a bad request. */
function isNoLongerMember(error: string): boolean {
  return error === ErrorMessages.notParticipantJoin || error === ErrorMessages.conversationNotFound;
}
