import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import {
  ErrorMessages,
  type Conversation,
  type ConversationPage,
  type Id,
  type MembershipChange,
  type Metadata,
  type ReadMark,
  type RpcResponse,
  type UnreadSummary,
} from '@parley/contracts';
import { AppError } from '../common/app.error.js';
import { RateLimits } from '../common/rate-limits.service.js';
import { PresenceService } from '../presence/presence.service.js';
import { ChatEvents } from '../realtime/chat-events.service.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

/**
 * Conversations and what a member does in one (join, typing, read marks, mute), for REST and Socket.IO alike.
 * Every operation takes a point of the caller's rate limit for it before it costs anything else. Membership is
 * never cached here: the chats service answers every check, so a removal takes effect at once on every gateway.
 */
@Injectable()
export class ConversationsService {
  private readonly logger = new Logger('Conversations');

  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly events: ChatEvents,
    private readonly presence: PresenceService,
    private readonly limits: RateLimits,
  ) {}

  /** The direct conversation of the caller and `receiverId`, created when it does not exist yet. */
  async createDirect(userId: Id, receiverId: Id): Promise<RpcResponse<'conversations.create'>> {
    await this.limits.consume('conversations', userId);
    const result = await this.rpc.call('conversations.create', { user_id: userId, receiver_id: receiverId });
    if (result.created) this.shareContacts({ added: [userId], members: [receiverId] });
    return result;
  }

  /** A group of the caller and `memberIds`; every member sees it appear (`conversation-updated`). */
  async createGroup(
    userId: Id,
    group: { title: string; memberIds: Id[]; metadata: Metadata },
  ): Promise<Conversation> {
    await this.limits.consume('conversations', userId);
    const change = await this.rpc.call('conversations.create-group', {
      user_id: userId,
      title: group.title,
      member_ids: [...new Set(group.memberIds)],
      metadata: group.metadata,
      request_id: randomUUID(),
    });
    return (await this.changed(change))!;
  }

  /** A group's title and/or metadata (owner and admins). */
  async update(
    userId: Id,
    conversationId: Id,
    patch: { title?: string; metadata?: Metadata },
  ): Promise<Conversation> {
    await this.limits.consume('groupChanges', userId);
    const change = await this.rpc.call('conversations.update', {
      user_id: userId,
      conversation_id: conversationId,
      ...patch,
    });
    return (await this.changed(change))!;
  }

  /** Broadcasts a membership or group change and shares presence with new contacts; the caller's view. */
  async changed(change: MembershipChange): Promise<Conversation | null> {
    await this.events.membershipChanged(change);
    if (change.contacts) this.shareContacts(change.contacts);
    return change.mine;
  }

  private shareContacts({ added, members }: { added: Id[]; members: Id[] }): void {
    this.presence
      .contactsAdded(added, members)
      .catch((err: unknown) =>
        this.logger.warn(`presence of new contacts not shared: ${(err as Error).message}`),
      );
  }

  async list(userId: Id, cursor: string | null, limit: number): Promise<ConversationPage> {
    await this.limits.consume('history', userId);
    return this.rpc.call('conversations.list', { user_id: userId, cursor, limit });
  }

  async get(userId: Id, conversationId: Id): Promise<Conversation> {
    await this.limits.consume('history', userId);
    return this.rpc.call('conversations.get', { user_id: userId, conversation_id: conversationId });
  }

  async unread(userId: Id): Promise<UnreadSummary> {
    await this.limits.consume('history', userId);
    return this.rpc.call('conversations.unread', { user_id: userId });
  }

  /** Mutes the conversation for the caller only (until `until`, or until unmuted). */
  async mute(userId: Id, conversationId: Id, until: string | null): Promise<Conversation> {
    await this.limits.consume('settings', userId);
    return this.rpc.call('conversations.mute', {
      user_id: userId,
      conversation_id: conversationId,
      until: until === null ? null : new Date(until).toISOString(),
    });
  }

  async unmute(userId: Id, conversationId: Id): Promise<void> {
    await this.limits.consume('settings', userId);
    await this.rpc.call('conversations.unmute', { user_id: userId, conversation_id: conversationId });
  }

  /** Moves the caller's read mark (never back); when it moved, `messages-read` to the room and their sockets. */
  async markRead(userId: Id, conversationId: Id, seq: number | undefined): Promise<ReadMark> {
    await this.limits.consume('readMarks', userId);
    const result = await this.rpc.call('conversations.mark-read', {
      user_id: userId,
      conversation_id: conversationId,
      seq: seq ?? null,
    });
    if (result.moved) this.events.readMarkMoved(conversationId, userId, result.seq);
    return { conversationId, seq: result.seq };
  }

  /** The checks of a socket joining a conversation's room: the caller's budget, then their membership. */
  async join(userId: Id, conversationId: Id): Promise<RpcResponse<'conversations.membership'>> {
    await this.limits.consume('joins', userId);
    return this.rpc.call('conversations.membership', { user_id: userId, conversation_id: conversationId });
  }

  async leave(userId: Id): Promise<void> {
    await this.limits.consume('leaves', userId);
  }

  /**
   * Shows the conversation's room that the caller is (or stopped) typing, but the socket `fromSocketId` it came
   * from: when the caller is a member, and not in a direct conversation with a user where either blocked the other.
   */
  async typing(userId: Id, conversationId: Id, isTyping: boolean, fromSocketId: string): Promise<void> {
    await this.limits.consume('typing', userId);
    const membership = await this.rpc.call('conversations.membership', {
      user_id: userId,
      conversation_id: conversationId,
    });
    if (membership.blocked) throw new AppError(403, ErrorMessages.blocked);
    this.events.typing(conversationId, userId, isTyping, fromSocketId);
  }
}
