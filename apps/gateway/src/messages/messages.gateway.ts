import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { ClientEvent, SendMessageDto, type SendMessageAck } from '@parley/contracts';
import type { Socket } from 'socket.io';
import { AppErrors } from '../common/app.error.js';
import { ChatSocketGateway } from '../realtime/chat-socket-gateway.decorator.js';
import type { SocketData } from '../realtime/socket-auth.js';
import { serializePerSocket } from '../realtime/socket-queue.js';
import { MessagesService } from './messages.service.js';

/** `send-message`: stored, then acknowledged, then broadcast, in the order this socket sent them. */
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
}
