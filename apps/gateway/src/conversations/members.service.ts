import { Injectable } from '@nestjs/common';
import type { Id, MemberPage, MemberRole } from '@parley/contracts';
import { RateLimits } from '../common/rate-limits.service.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';
import { ConversationsService } from './conversations.service.js';

/**
 * A group's members: the page with read receipts, and adding, removing (or leaving) and role changes. Each change
 * is decided and stored by the chats service, then broadcast (ConversationsService.changed) before it is
 * acknowledged: removed members' sockets have left the room on every gateway by then.
 */
@Injectable()
export class MembersService {
  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly conversations: ConversationsService,
    private readonly limits: RateLimits,
  ) {}

  async list(userId: Id, conversationId: Id, cursor: string | null, limit: number): Promise<MemberPage> {
    await this.limits.consume('history', userId);
    return this.rpc.call('members.list', { user_id: userId, conversation_id: conversationId, cursor, limit });
  }

  /** Adds the users who are not members yet; returns those it added. */
  async add(userId: Id, conversationId: Id, userIds: Id[]): Promise<Id[]> {
    await this.limits.consume('groupChanges', userId);
    const change = await this.rpc.call('members.add', {
      user_id: userId,
      conversation_id: conversationId,
      user_ids: [...new Set(userIds)],
    });
    await this.conversations.changed(change);
    return change.added_user_ids;
  }

  /** Removes a member; removing yourself is leaving. */
  async remove(userId: Id, conversationId: Id, memberId: Id): Promise<void> {
    await this.limits.consume('groupChanges', userId);
    const change = await this.rpc.call('members.remove', {
      user_id: userId,
      conversation_id: conversationId,
      member_id: memberId,
    });
    await this.conversations.changed(change);
  }

  async setRole(userId: Id, conversationId: Id, memberId: Id, role: Exclude<MemberRole, 'owner'>) {
    await this.limits.consume('groupChanges', userId);
    const change = await this.rpc.call('members.set-role', {
      user_id: userId,
      conversation_id: conversationId,
      member_id: memberId,
      role,
    });
    return this.conversations.changed(change);
  }
}
