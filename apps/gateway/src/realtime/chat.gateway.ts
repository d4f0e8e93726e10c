import { Inject, Logger, UseFilters, UseInterceptors, type BeforeApplicationShutdown } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import {
  CHAT_NAMESPACE,
  ClientEvent,
  ErrorMessages,
  JoinConversationDto,
  LeaveConversationDto,
  Limits,
  MarkReadSocketDto,
  Rooms,
  SendMessageDto,
  ServerEvent,
  TypingDto,
  type JoinConversationAck,
  type LeaveConversationAck,
  type MarkReadAck,
  type SendMessageAck,
  type ServerToClientEvents,
  type TypingAck,
} from '@parley/contracts';
import { LifecycleService } from '@parley/observability';
import type { Namespace, Socket } from 'socket.io';
import { TokenService } from '../auth/token.service.js';
import { RateLimiterService } from '../common/rate-limiter.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';
import { ChatEvents } from './chat-events.service.js';
import { MembershipCache } from './membership.cache.js';
import { PresenceService } from './presence.service.js';
import { socketAuthMiddleware, type SocketData } from './socket-auth.js';
import { serializePerSocket } from './socket-queue.js';
import { slowConsumerGuard } from './slow-consumer.guard.js';
import { WsError } from './ws-error.js';
import { WsExceptionFilter } from './ws-exception.filter.js';
import { WsTraceInterceptor } from './ws-trace.interceptor.js';
import { RealtimeMetrics } from './realtime.metrics.js';

type ChatSocket = Socket<Record<string, never>, ServerToClientEvents, Record<string, never>, SocketData>;

/**
 * The `/chat` namespace: validates (the app's validation pipe), authorizes, calls the chats service, acknowledges,
 * then broadcasts. Every handler's return value is its ack; failures go through WsExceptionFilter.
 */
@WebSocketGateway({ namespace: CHAT_NAMESPACE })
@UseFilters(WsExceptionFilter)
@UseInterceptors(WsTraceInterceptor)
export class ChatGateway
  implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, BeforeApplicationShutdown
{
  private readonly logger = new Logger('ChatGateway');
  private nsp?: Namespace;
  private readonly registrations = new WeakMap<Socket, Promise<void>>();
  private readonly guardSlowConsumer: (socket: Socket) => void;

  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly events: ChatEvents,
    private readonly presence: PresenceService,
    private readonly membership: MembershipCache,
    private readonly rateLimiter: RateLimiterService,
    private readonly tokens: TokenService,
    private readonly lifecycle: LifecycleService,
    private readonly metrics: RealtimeMetrics,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.guardSlowConsumer = slowConsumerGuard(config.socketMaxBufferedPackets, (socket) => {
      this.metrics.slowConsumers.inc();
      this.logger.warn(
        { userId: (socket.data as SocketData).userId, socketId: socket.id },
        'dropped a socket that stopped reading',
      );
    });
  }

  async afterInit(nsp: Namespace): Promise<void> {
    this.nsp = nsp;
    nsp.use(
      socketAuthMiddleware(this.tokens, this.config, (accepted) =>
        this.metrics.connections.inc({ outcome: accepted ? 'accepted' : 'refused' }),
      ),
    );
    this.events.attach(nsp);
    this.metrics.attach(nsp);
    await this.presence.attach(nsp);
  }

  handleConnection(socket: ChatSocket): void {
    if (this.lifecycle.draining) {
      socket.conn.close(); // the client reconnects, through the load balancer, to an instance that is not leaving
      return;
    }
    const { userId } = socket.data;
    // The handshake (headers, auth, address) has been read; the HTTP request that opened the connection is not
    // needed again and is the biggest thing an idle socket keeps alive (Socket.IO's memory-usage advice).
    (socket.conn as { request: unknown }).request = null;
    this.metrics.watch(socket);
    this.guardSlowConsumer(socket);
    void socket.join(Rooms.user(userId));
    // Kept only until it settles (an idle socket should cost as little as possible).
    const registration = this.presence
      .connected(socket, userId)
      .catch((err: unknown) => {
        this.logger.warn(`presence of user ${userId} not recorded: ${(err as Error).message}`);
      })
      .finally(() => this.registrations.delete(socket));
    this.registrations.set(socket, registration);
  }

  handleDisconnect(socket: ChatSocket): void {
    const { userId } = socket.data;
    if (!userId) return;
    // After the registration, never before it: a fast connect/disconnect must not leave a stale entry behind.
    const registered = this.registrations.get(socket) ?? Promise.resolve();
    void registered
      .then(() => this.presence.disconnected(socket, userId))
      .catch((err: unknown) =>
        this.logger.warn(`presence of user ${userId} not cleared: ${(err as Error).message}`),
      );
  }

  /**
   * SIGTERM: readiness turns false, new sockets are turned away, current ones are closed at the transport level so
   * their clients reconnect (to another instance) on their own, and presence is handed over without a flap.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.lifecycle.startDraining();
    for (const socket of this.nsp?.sockets.values() ?? []) socket.conn.close();
    await this.presence.drain();
  }

  @SubscribeMessage(ClientEvent.SendMessage)
  async sendMessage(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() dto: SendMessageDto,
  ): Promise<SendMessageAck> {
    const { userId } = socket.data;
    if (dto.sender_id !== userId) throw new WsError(ErrorMessages.unauthorized);
    if (!(await this.rateLimiter.take('messages', userId))) throw new WsError(ErrorMessages.rateLimited);
    // Stored, then acknowledged, then broadcast, in the order this socket sent them.
    const message = await serializePerSocket(socket, async () => {
      const result = await this.rpc.call('messages.send', {
        sender_id: userId,
        conversation_id: dto.conversation_id,
        message_type: dto.message_type,
        content: dto.content,
        client_message_id: dto.client_message_id ?? null,
      });
      socket.emit(ServerEvent.MessageSent, result.message);
      this.events.messageStored(result, socket);
      if (result.created) this.metrics.messagesReceived.inc({ transport: 'socket' });
      this.logger.debug(
        {
          conversationId: result.message.conversation_id,
          seq: result.message.seq,
          messageId: result.message.id,
          created: result.created,
        },
        'message stored',
      );
      return result.message;
    });
    return { success: true, message };
  }

  @SubscribeMessage(ClientEvent.JoinConversation)
  async joinConversation(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() dto: JoinConversationDto,
  ): Promise<JoinConversationAck> {
    const { userId } = socket.data;
    if (dto.userId !== userId) throw new WsError(ErrorMessages.unauthorized);
    const membership = await this.rpc.call('conversations.membership', {
      user_id: userId,
      conversation_id: dto.conversationId,
    });
    this.membership.remember(`${userId}:${dto.conversationId}`);
    this.metrics.joins.inc();
    // Join first, then read: a message committed meanwhile arrives live or in the catch-up (perhaps both; clients
    // de-duplicate by id), never in neither.
    await socket.join(Rooms.conversation(dto.conversationId));
    socket.emit(ServerEvent.JoinedConversation, {
      conversationId: dto.conversationId,
      success: true,
      last_seq: membership.last_seq,
    });
    const page = await this.rpc.call('messages.history', {
      user_id: userId,
      conversation_id: dto.conversationId,
      ...(dto.since_seq === undefined
        ? { mode: 'page' as const, page: 1, limit: Limits.recentMessagesOnJoin }
        : { mode: 'after' as const, after_seq: dto.since_seq, limit: Limits.catchUpMax }),
    });
    socket.emit(ServerEvent.RecentMessages, { conversationId: dto.conversationId, ...page });
    return {
      success: true,
      conversationId: dto.conversationId,
      last_seq: membership.last_seq,
      last_read_seq: membership.last_read_seq,
    };
  }

  @SubscribeMessage(ClientEvent.LeaveConversation)
  async leaveConversation(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() dto: LeaveConversationDto,
  ): Promise<LeaveConversationAck> {
    await socket.leave(Rooms.conversation(dto.conversationId));
    return { success: true, conversationId: dto.conversationId };
  }

  @SubscribeMessage(ClientEvent.Typing)
  async typing(@ConnectedSocket() socket: ChatSocket, @MessageBody() dto: TypingDto): Promise<TypingAck> {
    const { userId } = socket.data;
    if (dto.userId !== userId) throw new WsError(ErrorMessages.unauthorized);
    if (!(await this.rateLimiter.take('typing', userId))) throw new WsError(ErrorMessages.rateLimited);
    await this.membership.check(userId, dto.conversationId);
    socket.to(Rooms.conversation(dto.conversationId)).emit(ServerEvent.UserTyping, {
      conversationId: dto.conversationId,
      userId,
      isTyping: dto.isTyping,
    });
    return { success: true, conversationId: dto.conversationId };
  }

  @SubscribeMessage(ClientEvent.MarkRead)
  async markRead(
    @ConnectedSocket() socket: ChatSocket,
    @MessageBody() dto: MarkReadSocketDto,
  ): Promise<MarkReadAck> {
    const { userId } = socket.data;
    const result = await this.rpc.call('conversations.mark-read', {
      user_id: userId,
      conversation_id: dto.conversationId,
      seq: dto.seq ?? null,
    });
    if (result.moved) this.events.readMarkMoved(dto.conversationId, userId, result.seq);
    return { success: true, conversationId: dto.conversationId, seq: result.seq };
  }
}
