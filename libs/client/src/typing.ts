import type { Ack, Id, UserTypingEvent } from '@parley/contracts/wire';
import type { Connection } from './connection.js';
import type { Emit } from './events.js';
import type { ParleyClientOptions } from './options.js';
import type { Timer } from './util.js';

interface TypingOut {
  active: boolean;
  sentAt: number;
  idle?: Timer;
}

/**
 * Typing indicators both ways: yours, sent at most once per `refreshMs` while you type and stopped after `idleMs`;
 * others', each turned off when their refreshes stop coming (`expireMs`), when they stop, or when they send.
 */
export class TypingIndicators {
  private readonly typingOut = new Map<Id, TypingOut>();
  /** Others typing now, by `conversationId:userId`: the timer that turns the indicator off. */
  private readonly typingIn = new Map<string, Timer>();

  constructor(
    private readonly connection: Connection,
    private readonly emit: Emit,
    private readonly options: Pick<ParleyClientOptions, 'typing'>,
  ) {}

  typing(conversationId: Id): void {
    const now = Date.now();
    let t = this.typingOut.get(conversationId);
    if (!t) this.typingOut.set(conversationId, (t = { active: false, sentAt: -Infinity }));
    if (!t.active || now - t.sentAt >= (this.options.typing?.refreshMs ?? 3_000)) {
      if (this.emitTyping(conversationId, true)) {
        t.active = true;
        t.sentAt = now;
      }
    }
    clearTimeout(t.idle);
    t.idle = setTimeout(() => this.stopTyping(conversationId), this.options.typing?.idleMs ?? 3_000);
  }

  stopTyping(conversationId: Id): void {
    const t = this.typingOut.get(conversationId);
    if (!t) return;
    clearTimeout(t.idle);
    t.idle = undefined;
    if (!t.active) return;
    t.active = false;
    this.emitTyping(conversationId, false);
  }

  typingUsers(conversationId: Id): Id[] {
    const prefix = `${conversationId}:`;
    return [...this.typingIn.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => Number(k.slice(prefix.length)));
  }

  onTyping(event: UserTypingEvent): void {
    if (event.userId === this.connection.userId) return; // your other devices
    const key = typingKey(event.conversationId, event.userId);
    if (!event.isTyping) return this.clearTypingIn(key);
    const had = this.typingIn.has(key);
    clearTimeout(this.typingIn.get(key));
    this.typingIn.set(
      key,
      setTimeout(() => this.clearTypingIn(key), this.options.typing?.expireMs ?? 6_000),
    );
    if (!had) this.emit('typing', event);
  }

  /** Turns a user's indicator off (their message arrived: they stopped typing it). */
  clear(conversationId: Id, userId: Id): void {
    this.clearTypingIn(typingKey(conversationId, userId));
  }

  /** You are no longer a member: your indicator stops (nothing is sent) and others' go off. */
  forget(conversationId: Id): void {
    const t = this.typingOut.get(conversationId);
    if (t) clearTimeout(t.idle);
    this.typingOut.delete(conversationId);
    for (const userId of this.typingUsers(conversationId)) this.clear(conversationId, userId);
  }

  /** Disconnected: others' indicators go off, and yours is sent afresh once you type again. */
  reset(): void {
    for (const key of [...this.typingIn.keys()]) this.clearTypingIn(key);
    for (const t of this.typingOut.values()) {
      t.active = false;
      clearTimeout(t.idle);
    }
  }

  /** The client closed: no timer is left. */
  close(): void {
    for (const t of this.typingOut.values()) clearTimeout(t.idle);
    for (const t of this.typingIn.values()) clearTimeout(t);
    this.typingIn.clear();
  }

  private emitTyping(conversationId: Id, isTyping: boolean): boolean {
    const socket = this.connection.socket;
    const me = this.connection.userId;
    if (!socket?.connected || me === undefined) return false;
    // Fire and forget: an indicator that misses one update is corrected by the next (or expires).
    void this.connection.request<Ack>(socket, 'typing', { conversationId, userId: me, isTyping });
    return true;
  }

  private clearTypingIn(key: string): void {
    const timer = this.typingIn.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.typingIn.delete(key);
    const [conversationId, userId] = key.split(':').map(Number) as [number, number];
    this.emit('typing', { conversationId, userId, isTyping: false });
  }
}

function typingKey(conversationId: Id, userId: Id): string {
  return `${conversationId}:${userId}`;
}
