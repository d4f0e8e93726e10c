import type { Conversation, Id, Member, Metadata } from '@parley/contracts/wire';
import type { Connection } from './connection.js';
import type { Emit } from './events.js';
import type { Joins } from './joins.js';
import type { ReadMarks } from './read-marks.js';
import { ParleyApiError } from './rest.js';
import type { TypingIndicators } from './typing.js';
import { cancellableSleep } from './util.js';

export interface CreateGroupOptions {
  title: string;
  /** Members by username (resolved with `GET /api/users?username=`); yours may be among them. */
  usernames?: string[];
  /** Members by id, with or instead of `usernames`. */
  userIds?: Id[];
  metadata?: Metadata;
}

/** User lookups at once while resolving usernames (the gateway limits lookups per user: 5/s, bursts of 30). */
const LOOKUP_CONCURRENCY = 4;
/** Tries of one REST call refused for now (429, 503). */
const REST_ATTEMPTS = 5;

/**
 * Groups: creating one by usernames, its members with their read receipts, and the end of a membership. When you
 * leave or are removed (`conversation-removed`, or a re-join refused for good after a reconnect), everything the
 * client keeps of the conversation goes (joins, read marks, typing) and it raises `conversationRemoved`.
 *
 * Events about it that were already on their way are dropped. A `conversation-updated` for it after that may be
 * late news or a new membership (you were added again): it is believed only once REST says you are a member.
 */
export class Groups {
  private readonly removed = new Set<Id>();
  private readonly verifying = new Set<Id>();

  constructor(
    private readonly connection: Connection,
    private readonly joins: Joins,
    private readonly reads: ReadMarks,
    private readonly typing: TypingIndicators,
    private readonly emit: Emit,
  ) {}

  async createGroup(options: CreateGroupOptions): Promise<Conversation> {
    const rest = this.connection.rest();
    const ids = new Set(options.userIds ?? []);
    const names = [...new Set((options.usernames ?? []).map((u) => u.trim()).filter(Boolean))];
    for (let i = 0; i < names.length; i += LOOKUP_CONCURRENCY) {
      const users = await Promise.all(
        names.slice(i, i + LOOKUP_CONCURRENCY).map((username) =>
          this.retrying(() => rest.findUser(username)).catch((err: unknown) => {
            if (err instanceof ParleyApiError && err.status === 404) {
              throw new ParleyApiError(404, `User not found: ${username}`, err.body);
            }
            throw err;
          }),
        ),
      );
      for (const user of users) ids.add(user.id);
    }
    const me = this.connection.userId;
    if (me !== undefined) ids.delete(me);
    const conversation = await this.retrying(() =>
      rest.createGroup({
        title: options.title,
        member_ids: [...ids],
        ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
      }),
    );
    this.track([conversation]);
    return conversation;
  }

  /** Every member with their role and read receipt; the receipts seed `seenBy`. */
  async members(conversationId: Id): Promise<Member[]> {
    const members = await this.connection.rest().allMembers(conversationId);
    this.reads.trackMembers(conversationId, members, true);
    return members;
  }

  /** Leaves a group: the conversation is dropped here at once (the server's `conversation-removed` follows). */
  async leaveGroup(conversationId: Id): Promise<void> {
    const me = this.connection.userId;
    if (me === undefined) throw new Error('Your user id is not known yet: connect first, or pass `userId`');
    await this.connection.rest().removeMember(conversationId, me);
    this.onRemoved(conversationId);
  }

  /** `conversation-removed`, a re-join refused for good, or your own leave. Raised once per removal. */
  onRemoved(conversationId: Id): void {
    if (this.removed.has(conversationId)) return;
    this.removed.add(conversationId);
    this.joins.drop(conversationId, new Error('Removed from the conversation'));
    this.reads.forget(conversationId);
    this.typing.forget(conversationId);
    this.emit('conversationRemoved', { conversationId });
  }

  /** Whether events about a conversation are to be dropped: you are no longer a member. */
  isRemoved(conversationId: Id): boolean {
    return this.removed.has(conversationId);
  }

  /** You are a member (again): the app joined it, or REST listed it. */
  restore(conversationId: Id): void {
    this.removed.delete(conversationId);
  }

  /** A REST conversation list (or a new group): current memberships. */
  track(conversations: Conversation[]): void {
    for (const c of conversations) this.restore(c.id);
    this.reads.trackConversations(conversations);
  }

  /** `conversation-updated`: passed on, unless it is about a conversation you were removed from (see above). */
  conversationUpdated(conversation: Conversation): void {
    if (!this.removed.has(conversation.id)) return this.reads.conversationUpdated(conversation);
    if (this.verifying.has(conversation.id)) return;
    this.verifying.add(conversation.id);
    void this.connection
      .rest()
      .conversation(conversation.id)
      .then(
        (fresh) => {
          if (!this.removed.has(fresh.id)) return; // restored meanwhile: its own updates follow
          this.removed.delete(fresh.id);
          this.reads.conversationUpdated(fresh);
        },
        (err: unknown) => {
          const gone = err instanceof ParleyApiError && (err.status === 403 || err.status === 404);
          if (!gone) this.emit('error', err as Error);
        },
      )
      .finally(() => this.verifying.delete(conversation.id));
  }

  /** A REST call, tried again after 429 and 503 (after `Retry-After` when there is one, else the retry backoff). */
  private async retrying<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const forNow = err instanceof ParleyApiError && (err.status === 429 || err.status === 503);
        if (!forNow || attempt + 1 >= REST_ATTEMPTS) throw err;
        const after = err.retryAfterSeconds === undefined ? 0 : err.retryAfterSeconds * 1000;
        await cancellableSleep(Math.max(after, this.connection.retryDelay(attempt))).done;
      }
    }
  }
}
