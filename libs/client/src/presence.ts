import type { Id } from '@parley/contracts/wire';
import type { Emit } from './events.js';

/** Who of your contacts (users who share a conversation with you) is online, from `user:online`/`user:offline`. */
export class Presence {
  private readonly onlineUsers = new Set<Id>();

  constructor(private readonly emit: Emit) {}

  get online(): ReadonlySet<Id> {
    return this.onlineUsers;
  }

  isOnline(userId: Id): boolean {
    return this.onlineUsers.has(userId);
  }

  set(userId: Id, online: boolean): void {
    if (this.onlineUsers.has(userId) === online) return; // presence events are state: repeats change nothing
    if (online) this.onlineUsers.add(userId);
    else this.onlineUsers.delete(userId);
    this.emit('presence', { userId, online });
  }

  /** Everyone offline: while disconnected we cannot know who is online; the snapshot after the reconnect tells again. */
  clear(): void {
    for (const userId of [...this.onlineUsers]) this.set(userId, false);
  }
}
