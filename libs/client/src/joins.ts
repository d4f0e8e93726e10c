import {
  ErrorMessages,
  type Id,
  type JoinConversationAck,
  type Message,
  type MessageChange,
  type MessagePage,
  type RecentMessagesEvent,
} from '@parley/contracts/wire';
import type { ChatSocket } from './chat-socket.js';
import type { Connection } from './connection.js';
import type { Emit } from './events.js';
import type { MessageStore, ReactionFact } from './message-store.js';
import type { ParleyClientOptions } from './options.js';
import type { ReadMarks } from './read-marks.js';
import { isRetryableRefusal } from './refusals.js';
import type { HistoryQuery } from './rest.js';
import { MessageSequencer } from './sequencer.js';
import type { TypingIndicators } from './typing.js';
import type { Timer } from './util.js';
import { VersionTracker } from './versions.js';

interface JoinedConversation {
  id: Id;
  sequencer: MessageSequencer;
  versions: VersionTracker;
  /**
   * What the join being answered asked for: the latest messages, those after a seq (new ones), or everything
   * created or changed after a version (a catch-up, once the version is known).
   */
  mode: 'latest' | 'since' | 'version';
  catchingUp: boolean;
  /** The first join found more history than it delivered. */
  hasOlder: boolean;
  /** A join went through once: a final refusal after that means you are no longer a member. */
  confirmed: boolean;
  /** The conversation's version in the answer to the latest join. */
  joinVersion?: number;
  gapTimer?: Timer;
  gapFailures: number;
  versionTimer?: Timer;
  versionFailures: number;
  waiters: Array<{ resolve: () => void; reject: (error: Error) => void }>;
}

/**
 * Where a message came from: a new one (live, or a send's answer), a change of one (message-updated, a change's
 * answer), or a catch-up (recent-messages, REST), which holds new messages and changed ones alike.
 */
type Source = 'new' | 'update' | 'catch-up';

/**
 * The conversations joined, and the delivery of their messages. Each is joined again after every reconnect (with
 * `since_version` once its version is known, else `since_seq` once something was delivered), caught up over REST
 * when the catch-up holds more than the server sends, and every new message (live, catch-up, ack, REST) goes
 * through the conversation's MessageSequencer: delivered as a `message` event once, in seq order, with gaps that do
 * not fill fetched or, at worst, skipped.
 *
 * Every message also goes to the MessageStore, which keeps the newest state of each: a newer state of one already
 * delivered (an edit, a deletion, a reaction: live, in an answer, or in a catch-up by version) is raised as
 * `messageUpdated`. The conversation's VersionTracker notices a change that was heard of but never came (in a
 * joined room each one comes as an event); after `versionGapMs` without it, the client catches up by version.
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
    private readonly store: MessageStore,
    private readonly options: Pick<ParleyClientOptions, 'gapTimeoutMs' | 'versionGapMs'>,
    /** A conversation joined before whose re-join was refused for good: you are no longer a member. */
    private readonly lost: (conversationId: Id) => void,
  ) {}

  join(conversationId: Id, options: { sinceSeq?: number; sinceVersion?: number } = {}): Promise<void> {
    if (options.sinceVersion !== undefined && options.sinceSeq === undefined) {
      return Promise.reject(new Error('join: sinceVersion needs sinceSeq (the last seq you have)'));
    }
    let conversation = this.joined.get(conversationId);
    if (!conversation) {
      conversation = {
        id: conversationId,
        sequencer: new MessageSequencer(),
        versions: new VersionTracker(),
        mode: 'latest',
        catchingUp: false,
        hasOlder: false,
        confirmed: false,
        gapFailures: 0,
        versionFailures: 0,
        waiters: [],
      };
      this.joined.set(conversationId, conversation);
    }
    if (options.sinceSeq !== undefined)
      this.deliver(conversation, conversation.sequencer.start(options.sinceSeq));
    if (options.sinceVersion !== undefined) conversation.versions.complete(options.sinceVersion);
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
    this.stopTimers(conversation);
    this.store.forget(conversationId);
    for (const w of conversation.waiters.splice(0)) w.reject(new Error('Left the conversation'));
    const socket = this.connection.socket;
    if (socket?.connected) await this.connection.request(socket, 'leave-conversation', { conversationId });
  }

  /** You are no longer a member: stop re-joining it; a join waiting for its answer rejects with `reason`. */
  drop(conversationId: Id, reason: Error): void {
    this.store.forget(conversationId);
    const conversation = this.joined.get(conversationId);
    if (!conversation) return;
    this.joined.delete(conversationId);
    this.stopTimers(conversation);
    for (const w of conversation.waiters.splice(0)) w.reject(reason);
  }

  get ids(): Id[] {
    return [...this.joined.keys()];
  }

  lastSeq(conversationId: Id): number | undefined {
    return this.joined.get(conversationId)?.sequencer.lastSeq;
  }

  version(conversationId: Id): number | undefined {
    return this.joined.get(conversationId)?.versions.version;
  }

  /** A new connection: every conversation is joined on it again. */
  rejoin(socket: ChatSocket): void {
    for (const conversation of this.joined.values()) void this.joinOn(socket, conversation);
  }

  /** The client closed: joins waiting for their answer reject, gap timers stop. */
  close(reason: Error): void {
    for (const conversation of this.joined.values()) {
      this.stopTimers(conversation);
      for (const w of conversation.waiters.splice(0)) w.reject(reason);
    }
  }

  /** A new message from the server (live, or a send's answer): through the sequencer of its conversation. */
  accept(message: Message): void {
    const conversation = this.joined.get(message.conversation_id);
    if (conversation) return this.take(conversation, message, 'new');
    this.store.put(message);
    this.reads.noteMessage(message);
  }

  /**
   * A changed message (`message-updated`, or the answer to your change): stored, and raised as `messageUpdated` when
   * it is newer than the one the client had. `fact`: what it tells of your own reactions.
   */
  update(message: Message, change?: MessageChange, fact?: ReactionFact): void {
    this.take(this.joined.get(message.conversation_id), message, 'update', change, fact);
  }

  /** A version heard of (`conversation-updated`, `joined-conversation`): a gap until its change comes. */
  hear(conversationId: Id, version: number): void {
    const conversation = this.joined.get(conversationId);
    if (!conversation || !Number.isSafeInteger(version)) return; // (a server from before versions sends none)
    conversation.versions.hear(version);
    this.watchVersions(conversation);
  }

  /**
   * A page of history over REST: its messages are stored (with your reactions), and the newest state known of each
   * is returned. One the client had in an older state is raised as `messageUpdated`.
   */
  async history(conversationId: Id, query: HistoryQuery): Promise<MessagePage> {
    const page = await this.connection.rest().messages(conversationId, query);
    const messages = page.messages.map((m) => {
      const stored = this.store.put(m);
      if (stored.previous && stored.newer) this.raise(stored.message, stored.previous, stored.myReactions);
      return stored.message;
    });
    return { ...page, messages };
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
    for (const m of event.messages) this.take(conversation, m, 'catch-up');
    if (conversation.mode !== 'latest' && event.has_more) {
      // more than a catch-up holds: page on over REST
      void (conversation.mode === 'version'
        ? this.fetchAfterVersion(conversation)
        : this.fetchAfter(conversation));
      return;
    }
    // Everything after the version asked for: the newest of them is the conversation's version then.
    if (conversation.mode === 'version' && event.messages.length > 0) {
      conversation.versions.complete(Math.max(...event.messages.map((m) => m.version)));
    }
    conversation.catchingUp = false;
    this.watchGap(conversation);
  }

  /**
   * One message from the server, whatever its source. One not delivered yet goes through the sequencer (and out as a
   * `message` event in the newest state known by then); one delivered before (or older than where delivery started)
   * is a change when it is newer than the one stored.
   */
  private take(
    conversation: JoinedConversation | undefined,
    m: Message,
    source: Source,
    change?: MessageChange,
    fact?: ReactionFact,
  ): void {
    const stored = this.store.put(m, fact);
    if (conversation) {
      conversation.versions.see(m.version);
      const last = conversation.sequencer.lastSeq;
      if (last === undefined || m.seq > last) {
        this.deliver(conversation, conversation.sequencer.push(m));
        this.watchGap(conversation);
        this.watchVersions(conversation);
        return;
      }
      this.watchVersions(conversation);
    }
    if (source !== 'new' && (stored.newer || stored.mineChanged)) {
      this.raise(stored.message, stored.previous, stored.myReactions, change);
    }
  }

  private raise(
    message: Message,
    previous: Message | undefined,
    myReactions: string[],
    change?: MessageChange,
  ) {
    this.emit('messageUpdated', {
      conversationId: message.conversation_id,
      message,
      ...(previous ? { previous } : {}),
      ...(change ? { change } : {}),
      myReactions,
    });
  }

  private async joinOn(socket: ChatSocket, conversation: JoinedConversation): Promise<void> {
    let refusals = 0;
    for (let attempt = 1; ; attempt++) {
      const since = conversation.sequencer.lastSeq;
      const sinceVersion = since === undefined ? undefined : conversation.versions.version;
      conversation.mode = since === undefined ? 'latest' : sinceVersion === undefined ? 'since' : 'version';
      conversation.catchingUp = true;
      const result = await this.connection.request<JoinConversationAck>(socket, 'join-conversation', {
        conversationId: conversation.id,
        userId: this.connection.userId,
        ...(sinceVersion !== undefined
          ? { since_version: sinceVersion }
          : since !== undefined
            ? { since_seq: since }
            : {}),
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
      // recent-messages came before this ack: the catch-up is delivered (or being paged in over REST, which then
      // completes the version: what lies before it is not all here yet).
      conversation.joinVersion = ack.version;
      if (conversation.catchingUp) conversation.versions.hear(ack.version);
      else conversation.versions.complete(ack.version);
      this.emit('joined', {
        conversationId: conversation.id,
        lastSeq: ack.last_seq,
        lastReadSeq: ack.last_read_seq,
        hasOlder: conversation.hasOlder,
        version: ack.version,
      });
      for (const w of conversation.waiters.splice(0)) w.resolve();
      this.watchVersions(conversation);
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
        for (const m of page.messages) this.take(conversation, m, 'catch-up');
        if (!page.has_more || page.messages.length === 0) break;
      }
      conversation.gapFailures = 0;
      // The join's catch-up by seq is complete: from its version on, changes are followed by version.
      if (conversation.joinVersion !== undefined) conversation.versions.complete(conversation.joinVersion);
    } catch (err) {
      conversation.gapFailures++;
      this.emit('error', err as Error);
    } finally {
      conversation.catchingUp = false;
    }
    this.watchGap(conversation);
    this.watchVersions(conversation);
  }

  /**
   * Fetches, over REST, every message created or changed after the known version (a long catch-up by version, or
   * a version that did not come). Pages are in version order, so each one completes the versions up to its last;
   * the last page completes what was heard of before it was asked for (and the join's version), since a change
   * that is not listed was overtaken by a later change of the same message, which is.
   */
  private async fetchAfterVersion(conversation: JoinedConversation): Promise<void> {
    conversation.catchingUp = true;
    try {
      for (;;) {
        const heard = conversation.versions.heard;
        const after = conversation.versions.version ?? 0;
        const page = await this.connection
          .rest()
          .messages(conversation.id, { after_version: after, limit: 100 });
        if (this.joined.get(conversation.id) !== conversation) return;
        for (const m of page.messages) this.take(conversation, m, 'catch-up');
        const last = Math.max(after, ...page.messages.map((m) => m.version));
        if (!page.has_more || page.messages.length === 0) {
          conversation.versions.complete(Math.max(last, heard, conversation.joinVersion ?? 0));
          break;
        }
        conversation.versions.complete(last);
      }
      conversation.versionFailures = 0;
    } catch (err) {
      conversation.versionFailures++;
      this.emit('error', err as Error);
    } finally {
      conversation.catchingUp = false;
    }
    this.watchGap(conversation);
    this.watchVersions(conversation);
  }

  /**
   * A version heard of whose change has not come (a later one did, or `conversation-updated` told of it): in a
   * joined room it comes as an event, maybe a moment late (broadcasts from two gateways may cross). If it is still
   * missing after `versionGapMs`, catch up by version; after a failed catch-up, again after a backoff.
   */
  private watchVersions(conversation: JoinedConversation): void {
    if (conversation.versionTimer || conversation.catchingUp || !conversation.confirmed) return;
    if (!conversation.versions.gap()) return;
    const failures = conversation.versionFailures;
    const delay =
      failures === 0 ? (this.options.versionGapMs ?? 400) : this.connection.retryDelay(failures - 1);
    conversation.versionTimer = setTimeout(() => {
      conversation.versionTimer = undefined;
      if (this.joined.get(conversation.id) !== conversation || this.connection.closed) return;
      // Not while a catch-up runs or the room is not joined: both end by looking again.
      if (conversation.catchingUp || !this.connection.connected || !conversation.versions.gap()) return;
      void this.fetchAfterVersion(conversation);
    }, delay);
  }

  private stopTimers(conversation: JoinedConversation): void {
    clearTimeout(conversation.gapTimer);
    clearTimeout(conversation.versionTimer);
    conversation.gapTimer = conversation.versionTimer = undefined;
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
    for (const delivered of messages) {
      const m = this.store.latest(delivered); // changed while it waited: the newer state goes out
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
