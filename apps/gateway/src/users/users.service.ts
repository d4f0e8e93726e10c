import { Injectable } from '@nestjs/common';
import type { Id, User, UserProfile } from '@parley/contracts';
import { RateLimits } from '../common/rate-limits.service.js';
import { PresenceService } from '../presence/presence.service.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

/**
 * Public profiles (id, username, display name), and the caller's blocks. Lookups are rate limited: usernames are
 * not to be harvested.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly limits: RateLimits,
    private readonly presence: PresenceService,
  ) {}

  async get(callerId: Id, userId: Id): Promise<User> {
    await this.limits.consume('lookups', callerId);
    return this.rpc.call('users.get', { user_id: userId });
  }

  /** Public profiles (with their role) of up to 100 users at once (one lookup of the caller's budget). */
  async getMany(callerId: Id, userIds: Id[]): Promise<UserProfile[]> {
    if (userIds.length === 0) return [];
    await this.limits.consume('lookups', callerId);
    return (await this.rpc.call('users.get-many', { user_ids: [...new Set(userIds)] })).users;
  }

  async findByUsername(callerId: Id, username: string): Promise<User> {
    await this.limits.consume('lookups', callerId);
    return this.rpc.call('users.find-by-username', { username });
  }

  /**
   * Blocks `targetId`: the chats service refuses new direct conversations and messages between the two from now
   * on, and every gateway stops relaying their presence to each other (each sees the other go offline).
   */
  async block(userId: Id, targetId: Id): Promise<void> {
    await this.limits.consume('settings', userId);
    await this.rpc.call('users.block', { user_id: userId, target_id: targetId });
    await this.presence.contactsChanged(userId, targetId, true);
  }

  /** Unblocks; presence is shared again from the next transition or connect (cached contacts are dropped). */
  async unblock(userId: Id, targetId: Id): Promise<void> {
    await this.limits.consume('settings', userId);
    const { unblocked } = await this.rpc.call('users.unblock', { user_id: userId, target_id: targetId });
    if (unblocked) await this.presence.contactsChanged(userId, targetId, false);
  }

  async blocks(userId: Id): Promise<User[]> {
    await this.limits.consume('lookups', userId);
    return (await this.rpc.call('users.blocks', { user_id: userId })).users;
  }
}
