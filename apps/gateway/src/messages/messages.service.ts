import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import {
  Limits,
  ServerEvent,
  type HistoryRequest,
  type Id,
  type MessageBodyDto,
  type MessageChangeResult,
  type MessagePage,
  type RpcRequest,
  type SendMessageResult,
} from '@parley/contracts';
import type { Socket } from 'socket.io';
import { RateLimits } from '../common/rate-limits.service.js';
import { ChatEvents } from '../realtime/chat-events.service.js';
import { RealtimeMetrics } from '../realtime/realtime.metrics.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';
import { SendBatcher } from '../rpc/send-batcher.js';

/**
 * Sending, changing and reading messages, for REST and Socket.IO alike: rate limit, store (RPC), then broadcast.
 * The chats service decides who may do what.
 */
@Injectable()
export class MessagesService {
  private readonly logger = new Logger('Messages');

  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly batcher: SendBatcher,
    private readonly events: ChatEvents,
    private readonly limits: RateLimits,
    private readonly metrics: RealtimeMetrics,
  ) {}

  /**
   * Stores a message, then broadcasts it: `receive-message` to its room (but `from`, the sending socket, which gets
   * `message-sent`) and `conversation-updated` to its participants. A repeated client_message_id returns the
   * stored message and broadcasts nothing new. `transport` labels the metric (a plain-WebSocket edge sends with no
   * `from`: its connection is a member of the room, and gets the message as `receive-message` like the others).
   */
  async send(
    userId: Id,
    conversationId: Id,
    body: MessageBodyDto,
    from?: Socket,
    transport: 'socket' | 'rest' | 'websocket' = from ? 'socket' : 'rest',
  ): Promise<SendMessageResult> {
    await this.limits.consume('messages', userId);
    const result = await this.batcher.send({
      sender_id: userId,
      conversation_id: conversationId,
      message_type: body.message_type,
      content: body.content,
      client_message_id: body.client_message_id ?? null,
      request_id: randomUUID(),
      reply_to_id: body.reply_to_id ?? null,
      attachments: body.attachments ?? [],
      metadata: body.metadata ?? null,
    });
    from?.emit(ServerEvent.MessageSent, result.message);
    this.events.messageStored(result, from);
    if (result.created) this.metrics.messagesReceived.inc({ transport });
    const { message } = result;
    this.logger.debug(
      { conversationId, seq: message.seq, messageId: message.id, created: result.created },
      'message stored',
    );
    return result;
  }

  /** The author's new content for a text message. */
  edit(userId: Id, conversationId: Id, messageId: Id, content: string): Promise<MessageChangeResult> {
    return this.change('messages.edit', {
      user_id: userId,
      conversation_id: conversationId,
      message_id: messageId,
      content,
    });
  }

  /** A tombstone in the message's place (its author, or a group's owner or admins). */
  delete(userId: Id, conversationId: Id, messageId: Id): Promise<MessageChangeResult> {
    return this.change('messages.delete', {
      user_id: userId,
      conversation_id: conversationId,
      message_id: messageId,
    });
  }

  /** Adds (`add`) or removes the caller's reaction `emoji`. */
  react(
    userId: Id,
    conversationId: Id,
    messageId: Id,
    emoji: string,
    add: boolean,
  ): Promise<MessageChangeResult> {
    return this.change('messages.react', {
      user_id: userId,
      conversation_id: conversationId,
      message_id: messageId,
      emoji,
      add,
    });
  }

  /** A change of a message: the caller's budget, the chats service's decision, then `message-updated`. */
  private async change<P extends 'messages.edit' | 'messages.delete' | 'messages.react'>(
    pattern: P,
    request: RpcRequest<P>,
  ): Promise<MessageChangeResult> {
    await this.limits.consume('messageChanges', request.user_id);
    const result: MessageChangeResult = await this.rpc.call(pattern, request);
    this.events.messageChanged(result);
    return result;
  }

  /** A page of history (REST), for `request.user_id`. */
  async history(request: HistoryRequest): Promise<MessagePage> {
    await this.limits.consume('history', request.user_id);
    return this.rpc.call('messages.history', request);
  }

  /**
   * What a socket joining a conversation is sent: every message created or changed after `since.version`, or the
   * messages after `since.seq` (at most 100 either way), or the latest 50. Paid for by the join's own rate limit.
   */
  catchUp(userId: Id, conversationId: Id, since: { seq?: number; version?: number }): Promise<MessagePage> {
    const base = { user_id: userId, conversation_id: conversationId };
    if (since.version !== undefined) {
      return this.rpc.call('messages.history', {
        ...base,
        mode: 'version',
        after_version: since.version,
        limit: Limits.catchUpMax,
      });
    }
    return this.rpc.call('messages.history', {
      ...base,
      ...(since.seq === undefined
        ? { mode: 'page' as const, page: 1, limit: Limits.recentMessagesOnJoin }
        : { mode: 'after' as const, after_seq: since.seq, limit: Limits.catchUpMax }),
    });
  }
}
