import type { Id, Message } from '@parley/contracts/wire';

/** One of your reactions, as of a version: there (`present`) or not. */
export interface ReactionFact {
  emoji: string;
  present: boolean;
}

/**
 * Your reactions to one message, from pieces of knowledge that each hold as of a version: a full list
 * (`my_reactions` of a history page or catch-up, or a tombstone: none), and single emojis (your change's answer, a
 * `message-updated` of yours from another device). The newest knowledge of each emoji wins, whatever the order it
 * came in.
 */
class MyReactions {
  private base = new Set<string>();
  private baseVersion = -1;
  private readonly facts = new Map<string, { present: boolean; version: number }>();

  all(emojis: string[], version: number): void {
    if (version < this.baseVersion) return;
    this.base = new Set(emojis);
    this.baseVersion = version;
    for (const [emoji, fact] of this.facts) if (fact.version <= version) this.facts.delete(emoji);
  }

  one(fact: ReactionFact, version: number): void {
    if (version < this.baseVersion) return;
    const known = this.facts.get(fact.emoji);
    if (known && known.version > version) return;
    this.facts.set(fact.emoji, { present: fact.present, version });
  }

  /** Yours among the reactions `message` has (it is the newest state known: no knowledge is newer). */
  list(message: Message): string[] {
    return message.reactions
      .map((r) => r.emoji)
      .filter((emoji) => this.facts.get(emoji)?.present ?? this.base.has(emoji));
  }
}

interface Entry {
  message: Message;
  mine: MyReactions;
}

/** What a `put` changed. */
export interface StoreResult {
  /** The newest state known now (the one put, or one stored before that is newer). */
  message: Message;
  /** The state stored before, when there was one. */
  previous?: Message;
  /** The message is newer than the one stored (or none was). */
  newer: boolean;
  myReactions: string[];
  /** Your reactions to it are not what they were. */
  mineChanged: boolean;
}

/**
 * The server's state of each message the client has seen: of each, the newest `version` that came (live, in a
 * catch-up, in an answer), and your reactions to it. At most `limit` messages per conversation are kept (the ones
 * that came first go first): an update of one that went is taken as news.
 */
export class MessageStore {
  private readonly conversations = new Map<Id, Map<Id, Entry>>();

  constructor(private readonly limit: number) {}

  get(conversationId: Id, messageId: Id): Message | undefined {
    return this.conversations.get(conversationId)?.get(messageId)?.message;
  }

  myReactions(conversationId: Id, messageId: Id): string[] {
    const entry = this.conversations.get(conversationId)?.get(messageId);
    return entry ? entry.mine.list(entry.message) : [];
  }

  /** `message` as stored, or the newer state of it that is. */
  latest(message: Message): Message {
    const stored = this.get(message.conversation_id, message.id);
    return stored && stored.version > message.version ? stored : message;
  }

  /**
   * Takes a state of a message from the server, and what it tells of your reactions: its `my_reactions` when it
   * has them, a tombstone has none, and `fact` (your change's answer, or a change of yours on another device).
   */
  put(message: Message, fact?: ReactionFact): StoreResult {
    let messages = this.conversations.get(message.conversation_id);
    if (!messages) this.conversations.set(message.conversation_id, (messages = new Map()));
    let entry = messages.get(message.id);
    const previous = entry?.message;
    const mineBefore = entry ? entry.mine.list(entry.message) : [];
    if (!entry) {
      entry = { message, mine: new MyReactions() };
      messages.set(message.id, entry);
      if (messages.size > this.limit) messages.delete(messages.keys().next().value!);
    }
    const newer = previous === undefined || message.version > previous.version;
    if (newer) entry.message = message;
    if (message.deleted_at !== null) entry.mine.all([], message.version);
    else if (message.my_reactions) entry.mine.all(message.my_reactions, message.version);
    if (fact) entry.mine.one(fact, message.version);
    const myReactions = entry.mine.list(entry.message);
    return {
      message: entry.message,
      previous,
      newer,
      myReactions,
      mineChanged: !sameList(mineBefore, myReactions),
    };
  }

  /** Nothing is kept of a conversation you left or were removed from. */
  forget(conversationId: Id): void {
    this.conversations.delete(conversationId);
  }
}

/** The same emojis (their order follows the counts, which may change without yours changing). */
function sameList(a: string[], b: string[]): boolean {
  const set = new Set(a);
  return a.length === b.length && b.every((x) => set.has(x));
}
