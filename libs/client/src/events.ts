import type {
  Conversation,
  Id,
  Message,
  MessageChange,
  MessagesReadEvent,
  UserTypingEvent,
} from '@parley/contracts/wire';
import type { SeqGap } from './sequencer.js';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface StateChange {
  state: ConnectionState;
  /** The gateway of the current or next attempt. */
  url?: string;
  /** Failed attempts since the last connection. */
  attempt?: number;
  /** `reconnecting`: how long until the next attempt (ms). */
  delayMs?: number;
  /**
   * What made the last attempt fail, or why the client closed: `Unauthorized` when it cannot get a token,
   * `Session ended` when the server ended the session (a logout, here or on another device).
   */
  error?: string;
}

export interface ParleyClientEvents {
  /**
   * A message of a joined conversation: in seq order per conversation, each exactly once (yours included), in the
   * newest state known (a message edited before it was delivered comes edited).
   */
  message: (message: Message) => void;
  /**
   * A message changed: edited, deleted (a tombstone: `deleted_at` set, content, attachments and reactions gone), or a
   * reaction added or removed; or a catch-up brought a newer state of it. Raised once per newer `version` (never for
   * an older state than one raised before), for messages delivered as `message` events and for older ones alike.
   * `change`: what happened, when the server said (live, or the answer to your own change); absent after a
   * catch-up. `myReactions`: yours, now.
   */
  messageUpdated: (event: MessageUpdate) => void;
  state: (change: StateChange) => void;
  /**
   * A joined (or re-joined) conversation; `hasOlder`: history lies before the first message delivered; `version`:
   * the conversation's change counter when the server answered.
   */
  joined: (event: {
    conversationId: Id;
    lastSeq: number;
    lastReadSeq: number;
    hasOlder: boolean;
    version: number;
  }) => void;
  presence: (event: { userId: Id; online: boolean }) => void;
  /** Someone else started or stopped typing (stops by itself when their "typing" refreshes stop coming). */
  typing: (event: UserTypingEvent) => void;
  /** Your unread count of a conversation changed. */
  unread: (event: { conversationId: Id; count: number }) => void;
  /** A read mark moved: yours (from any of your devices) or another member's ("seen by"). */
  read: (event: MessagesReadEvent) => void;
  /**
   * A conversation changed (new activity, a membership change) or is new to you (a group you were added to): for a
   * live conversation list. `unread_count`, `my_role` and `muted` are yours.
   */
  conversation: (conversation: Conversation) => void;
  /**
   * You left the conversation or were removed from it (here, on another device, or while disconnected): the client
   * no longer joins it and nothing more of it arrives. Take it off the list.
   */
  conversationRemoved: (event: { conversationId: Id }) => void;
  /** Messages that could not be recovered (only when REST is unreachable for long): they were skipped. */
  gap: (event: SeqGap & { conversationId: Id }) => void;
  /** Something failed that the client works around (a re-join refused, a catch-up fetch failed…). */
  error: (error: Error) => void;
}

export interface MessageUpdate {
  conversationId: Id;
  /** Its state now. */
  message: Message;
  /** Its state before, when the client had it. */
  previous?: Message;
  change?: MessageChange;
  /** Your reactions to it (emojis, in the order of `message.reactions`). */
  myReactions: string[];
}

/** How the parts of the client raise its events: ParleyClient's own `emit`, handed to each part. */
export type Emit = <K extends keyof ParleyClientEvents>(
  event: K,
  ...args: Parameters<ParleyClientEvents[K]>
) => void;
