import { Injectable, Logger } from '@nestjs/common';
import type { Conversation, ConversationPage, Id, ReadMark, RpcResponse } from '@parley/contracts';
import { RateLimits } from '../common/rate-limits.service.js';
import { ChatEvents } from '../realtime/chat-events.service.js';
import { PresenceService } from '../realtime/presence.service.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';
import { MembershipCache } from './membership.cache.js';

/**
 * Conversations and what a member does in one (join, typing, read marks), for REST and Socket.IO alike. Every
 * operation takes a point of the caller's rate limit for it before it costs anything else.
 */
@Injectable()
export class ConversationsService {
  private readonly logger = new Logger('Conversations');

  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly events: ChatEvents,
    private readonly presence: PresenceService,
    private readonly membership: MembershipCache,
    private readonly limits: RateLimits,
  ) {}

  /** The 1:1 conversation of the caller and `receiverId`, created when it does not exist yet. */
  async create(userId: Id, receiverId: Id): Promise<RpcResponse<'conversations.create'>> {
    await this.limits.consume('conversations', userId);
    const result = await this.rpc.call('conversations.create', { user_id: userId, receiver_id: receiverId });
    if (result.created) {
      this.presence
        .contactsAdded(userId, receiverId)
        .catch((err: unknown) =>
          this.logger.warn(`presence of new contacts not shared: ${(err as Error).message}`),
        );
    }
    return result;
  }

  async list(userId: Id, cursor: string | null, limit: number): Promise<ConversationPage> {
    await this.limits.consume('history', userId);
    return this.rpc.call('conversations.list', { user_id: userId, cursor, limit });
  }

  async get(userId: Id, conversationId: Id): Promise<Conversation> {
    await this.limits.consume('history', userId);
    return this.rpc.call('conversations.get', { user_id: userId, conversation_id: conversationId });
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
    const membership = await this.rpc.call('conversations.membership', {
      user_id: userId,
      conversation_id: conversationId,
    });
    this.membership.remember(`${userId}:${conversationId}`);
    return membership;
  }

  async leave(userId: Id): Promise<void> {
    await this.limits.consume('leaves', userId);
  }

  /** Resolves when the caller may show they are typing in the conversation. */
  async typing(userId: Id, conversationId: Id): Promise<void> {
    await this.limits.consume('typing', userId);
    await this.membership.check(userId, conversationId);
  }
}
