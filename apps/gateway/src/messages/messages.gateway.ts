import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import {
  ClientEvent,
  DeleteMessageDto,
  EditMessageDto,
  ReactDto,
  SendMessageDto,
  type MessageChangeAck,
  type SendMessageAck,
} from '@parley/contracts';
import type { Socket } from 'socket.io';
import { AppErrors } from '../common/app.error.js';
import { ChatSocketGateway } from '../realtime/chat-socket-gateway.decorator.js';
import type { SocketData } from '../realtime/socket-auth.js';
import { serializePerSocket } from '../realtime/socket-queue.js';
import { MessagesService } from './messages.service.js';

/**
 * `send-message`, `edit-message`, `delete-message` and `react`: stored, then acknowledged, then broadcast, in the
 * order this socket sent them (so an edit sent right after its message finds it).
 */
@ChatSocketGateway()
export class MessagesGateway {
  constructor(private readonly messages: MessagesService) {}

  @SubscribeMessage(ClientEvent.SendMessage)
  async sendMessage(
    @ConnectedSocket() socket: Socket,
    @MessageBody() dto: SendMessageDto,
  ): Promise<SendMessageAck> {
    const { userId } = socket.data as SocketData;
    if (dto.sender_id !== userId) throw AppErrors.unauthorized();
    const result = await serializePerSocket(socket, () =>
      this.messages.send(userId, dto.conversation_id, dto, socket),
    );
    return { success: true, message: result.message };
  }

  @SubscribeMessage(ClientEvent.EditMessage)
  async editMessage(
    @ConnectedSocket() socket: Socket,
    @MessageBody() dto: EditMessageDto,
  ): Promise<MessageChangeAck> {
    const { userId } = socket.data as SocketData;
    const result = await serializePerSocket(socket, () =>
      this.messages.edit(userId, dto.conversationId, dto.messageId, dto.content),
    );
    return { success: true, message: result.message };
  }

  @SubscribeMessage(ClientEvent.DeleteMessage)
  async deleteMessage(
    @ConnectedSocket() socket: Socket,
    @MessageBody() dto: DeleteMessageDto,
  ): Promise<MessageChangeAck> {
    const { userId } = socket.data as SocketData;
    const result = await serializePerSocket(socket, () =>
      this.messages.delete(userId, dto.conversationId, dto.messageId),
    );
    return { success: true, message: result.message };
  }

  @SubscribeMessage(ClientEvent.React)
  async react(@ConnectedSocket() socket: Socket, @MessageBody() dto: ReactDto): Promise<MessageChangeAck> {
    const { userId } = socket.data as SocketData;
    const result = await serializePerSocket(socket, () =>
      this.messages.react(userId, dto.conversationId, dto.messageId, dto.emoji, dto.add),
    );
    return { success: true, message: result.message };
  }
}
