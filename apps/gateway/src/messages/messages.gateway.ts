import { Inject } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, type OnGatewayConnection } from '@nestjs/websockets';
import {
  ClientEvent,
  DeleteMessageDto,
  EditMessageDto,
  ReactDto,
  SendMessageDto,
  type MessageChangeAck,
  type SendMessagePayload,
} from '@parley/contracts';
import { runWithTraceId, traceIdFrom } from '@parley/observability';
import { PinoLogger } from 'nestjs-pino';
import type { Socket } from 'socket.io';
import { AppErrors } from '../common/app.error.js';
import { StrictValidationPipe } from '../common/validation.pipe.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { ChatSocketGateway } from '../realtime/chat-socket-gateway.decorator.js';
import type { SocketData } from '../realtime/socket-auth.js';
import { admitEvent, releaseEvent } from '../realtime/socket-admission.interceptor.js';
import { serializePerSocket } from '../realtime/socket-queue.js';
import { answerWithError } from '../realtime/ws-exception.filter.js';
import { MessagesService } from './messages.service.js';
import { plainTextSend } from './send-message.check.js';

const SEND_MESSAGE_BODY = { type: 'body', metatype: SendMessageDto } as const;

/**
 * `send-message`, `edit-message`, `delete-message` and `react`: stored, then acknowledged, then broadcast, in the
 * order this socket sent them (so an edit sent right after its message finds it).
 *
 * `send-message`, the hot path, is a plain listener on each socket rather than a Nest handler: it does what the
 * pipeline of the others does (SocketAdmissionInterceptor's in-flight cap, a trace id for the RPC, the validation
 * pipe, WsExceptionFilter's answers) without building an execution context, interceptor observables and a child
 * logger per message, and a plain text message skips class-validator when `plainTextSend` accepts it.
 */
@ChatSocketGateway()
export class MessagesGateway implements OnGatewayConnection {
  private readonly validation = new StrictValidationPipe();
  /** One listener for every socket (`this` is the socket), not a closure each. */
  private readonly onSendMessage: (this: Socket, ...args: unknown[]) => Promise<void>;

  constructor(
    private readonly messages: MessagesService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly logger: PinoLogger,
  ) {
    const send = (socket: Socket, payload: unknown, ack: unknown) => this.sendMessage(socket, payload, ack);
    // Returns the send's promise (it never rejects): the Socket.IO instrumentation ends the event's span with it.
    this.onSendMessage = function (this: Socket, ...args: unknown[]) {
      const ack = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
      return send(this, args.length === 1 ? args[0] : args.length === 0 ? undefined : args, ack);
    };
  }

  handleConnection(socket: Socket): void {
    socket.on(ClientEvent.SendMessage, this.onSendMessage);
  }

  private async sendMessage(socket: Socket, payload: unknown, ack: unknown): Promise<void> {
    const data = socket.data as SocketData;
    if (!admitEvent(socket, this.config.socketMaxInFlight)) {
      return answerWithError(socket, ClientEvent.SendMessage, payload, ack, AppErrors.busy());
    }
    const traceId = traceIdFrom(undefined);
    const bindings = { traceId, event: ClientEvent.SendMessage, userId: data.userId };
    try {
      const dto =
        plainTextSend(payload) ??
        ((await this.validation.transform(payload, SEND_MESSAGE_BODY)) as SendMessagePayload);
      if (dto.sender_id !== data.userId) throw AppErrors.unauthorized();
      const send = () =>
        serializePerSocket(socket, () => this.messages.send(data.userId, dto.conversation_id, dto, socket));
      // The trace id always travels with the RPC; a logger bound to it only when debug lines will be written
      // (the success path writes none above debug; failures below get it always).
      const result = await runWithTraceId(traceId, () =>
        this.logger.logger.isLevelEnabled('debug') ? this.logger.runInContext(send, { bindings }) : send(),
      );
      if (typeof ack === 'function') ack({ success: true, message: result.message });
    } catch (err) {
      this.logger.runInContext(() => answerWithError(socket, ClientEvent.SendMessage, payload, ack, err), {
        bindings,
      });
    } finally {
      releaseEvent(socket);
    }
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
