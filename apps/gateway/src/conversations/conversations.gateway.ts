import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import {
  ClientEvent,
  ErrorMessages,
  JoinConversationDto,
  LeaveConversationDto,
  MarkReadSocketDto,
  Rooms,
  ServerEvent,
  TypingDto,
  type JoinConversationAck,
  type LeaveConversationAck,
  type MarkReadAck,
  type TypingAck,
} from '@parley/contracts';
import type { Socket } from 'socket.io';
import { AppError, AppErrors } from '../common/app.error.js';
import { MessagesService } from '../messages/messages.service.js';
import { ChatSocketGateway } from '../realtime/chat-socket-gateway.decorator.js';
import { RealtimeMetrics } from '../realtime/realtime.metrics.js';
import type { SocketData } from '../realtime/socket-auth.js';
import { ConversationsService } from './conversations.service.js';

/** join-conversation, leave-conversation, typing and mark-read. */
@ChatSocketGateway()
export class ConversationsGateway {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesService,
    private readonly metrics: RealtimeMetrics,
  ) {}

  @SubscribeMessage(ClientEvent.JoinConversation)
  async joinConversation(
    @ConnectedSocket() socket: Socket,
    @MessageBody() dto: JoinConversationDto,
  ): Promise<JoinConversationAck> {
    const { userId } = socket.data as SocketData;
    if (dto.userId !== userId) throw AppErrors.unauthorized();
    if (dto.since_seq !== undefined && dto.since_version !== undefined) {
      throw new AppError(400, ErrorMessages.oneCatchUpCursor);
    }
    const membership = await this.conversations.join(userId, dto.conversationId);
    this.metrics.joins.inc();
    // Join first, then read: a message committed meanwhile arrives live or in the catch-up (perhaps both; clients
    // de-duplicate by id), never in neither.
    await socket.join(Rooms.conversation(dto.conversationId));
    socket.emit(ServerEvent.JoinedConversation, {
      conversationId: dto.conversationId,
      success: true,
      last_seq: membership.last_seq,
      version: membership.version,
    });
    const page = await this.messages.catchUp(userId, dto.conversationId, {
      seq: dto.since_seq,
      version: dto.since_version,
    });
    socket.emit(ServerEvent.RecentMessages, { conversationId: dto.conversationId, ...page });
    return {
      success: true,
      conversationId: dto.conversationId,
      last_seq: membership.last_seq,
      last_read_seq: membership.last_read_seq,
      version: membership.version,
    };
  }

  @SubscribeMessage(ClientEvent.LeaveConversation)
  async leaveConversation(
    @ConnectedSocket() socket: Socket,
    @MessageBody() dto: LeaveConversationDto,
  ): Promise<LeaveConversationAck> {
    await this.conversations.leave((socket.data as SocketData).userId);
    await socket.leave(Rooms.conversation(dto.conversationId));
    return { success: true, conversationId: dto.conversationId };
  }

  @SubscribeMessage(ClientEvent.Typing)
  async typing(@ConnectedSocket() socket: Socket, @MessageBody() dto: TypingDto): Promise<TypingAck> {
    const { userId } = socket.data as SocketData;
    if (dto.userId !== userId) throw AppErrors.unauthorized();
    await this.conversations.typing(userId, dto.conversationId, dto.isTyping, socket.id);
    return { success: true, conversationId: dto.conversationId };
  }

  @SubscribeMessage(ClientEvent.MarkRead)
  async markRead(
    @ConnectedSocket() socket: Socket,
    @MessageBody() dto: MarkReadSocketDto,
  ): Promise<MarkReadAck> {
    const mark = await this.conversations.markRead(
      (socket.data as SocketData).userId,
      dto.conversationId,
      dto.seq,
    );
    return { success: true, ...mark };
  }
}
