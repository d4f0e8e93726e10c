// The seed-003 gateway: Socket.IO namespace /chat (NestJS WebSocketGateway) across instances with the classic
// Redis adapter, and the chats service behind NestJS's built-in Redis transport (ClientProxy).
// Env: PORT, REDIS_URL, SEED003_NS. GET /health answers 200 once listening.
// Run: node --import tsx bench/seed003/gateway.ts
import 'reflect-metadata';
import {
  Catch,
  Controller,
  Get,
  Inject,
  Module,
  UseFilters,
  ValidationPipe,
  type ArgumentsHost,
  type ExceptionFilter,
  type INestApplication,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, Transport, type ClientProxy } from '@nestjs/microservices';
import { IoAdapter } from '@nestjs/platform-socket.io';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  WsException,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import { createAdapter } from '@socket.io/redis-adapter';
import { IsBoolean, IsEnum, IsInt, IsNotEmpty, IsString, type ValidationError } from 'class-validator';
import { Redis } from 'ioredis';
import { firstValueFrom } from 'rxjs';
import type { Namespace, Server, ServerOptions, Socket } from 'socket.io';
import { MessageType, type Conversation, type Message } from './entities.js';
import { ADAPTER_KEY, CHATS_SERVICE, exitWithParent, PATTERNS, redisOptions } from './patterns.js';

// ---- DTOs (class-validator) ----

export class SendMessageDto {
  @IsInt()
  @IsNotEmpty()
  sender_id: number;

  @IsInt()
  @IsNotEmpty()
  conversation_id: number;

  @IsNotEmpty()
  @IsEnum(MessageType)
  message_type: MessageType;

  @IsNotEmpty()
  @IsString()
  content: string;
}

export class JoinConversationDto {
  @IsInt()
  @IsNotEmpty()
  conversationId: number;

  @IsInt()
  @IsNotEmpty()
  userId: number;
}

export class LeaveConversationDto {
  @IsInt()
  @IsNotEmpty()
  conversationId: number;
}

export class TypingDto {
  @IsInt()
  @IsNotEmpty()
  conversationId: number;

  @IsInt()
  @IsNotEmpty()
  userId: number;

  @IsBoolean()
  isTyping: boolean;
}

/**
 * Nest's ValidationPipe, its errors joined as in the seed ("sender_id should not be empty, sender_id must be an
 * integer number"). `expectedType` names the DTO: under tsx there is no design:paramtypes for the pipe to read.
 */
function validate(expectedType: new () => object): ValidationPipe {
  return new ValidationPipe({
    expectedType,
    whitelist: true,
    transform: true,
    exceptionFactory: (errors: ValidationError[]) =>
      new WsException(errors.flatMap((e) => Object.values(e.constraints ?? {})).join(', ')),
  });
}

/** A refused event: `message-error` (send-message) or `error` (the others), and `{success: false, error}` as ack. */
@Catch()
export class ChatErrorFilter implements ExceptionFilter {
  constructor(private readonly event: 'message-error' | 'error') {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const socket = host.switchToWs().getClient<Socket>();
    const error = errorMessage(exception);
    socket.emit(this.event, this.event === 'error' ? { message: error } : { error });
    const ack: unknown = host.getArgByIndex(2);
    if (typeof ack === 'function') (ack as (r: unknown) => void)({ success: false, error });
  }
}

/** What a failed call says: a WsException's text, an RpcException's `{status, message}` from the chats service… */
function errorMessage(err: unknown): string {
  if (err instanceof WsException) {
    const e = err.getError();
    if (typeof e === 'string') return e;
    const message = (e as { message?: unknown }).message;
    return typeof message === 'string' ? message : 'Error';
  }
  if (err && typeof err === 'object' && 'message' in err && typeof err.message === 'string')
    return err.message;
  return String(err);
}

// ---- The gateway ----

@WebSocketGateway({ namespace: '/chat', cors: { origin: '*' } })
export class ChatGateway implements OnGatewayConnection, OnGatewayDisconnect, OnApplicationBootstrap {
  @WebSocketServer()
  server: Namespace;

  /** Connection state in memory, as the seed says: the sockets of each user on this instance. */
  private readonly connectedUsers = new Map<number, Set<string>>();

  constructor(@Inject(CHATS_SERVICE) private readonly chatsClient: ClientProxy) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.chatsClient.connect();
  }

  handleConnection(socket: Socket): void {
    const raw = socket.handshake.query.userId ?? (socket.handshake.auth as { userId?: unknown }).userId;
    const userId = Number(raw);
    if (!Number.isInteger(userId) || userId <= 0) {
      socket.emit('error', { message: 'userId is required' });
      socket.disconnect();
      return;
    }
    socket.data.userId = userId;
    void socket.join(`user:${userId}`);
    const sockets = this.connectedUsers.get(userId) ?? new Set<string>();
    sockets.add(socket.id);
    this.connectedUsers.set(userId, sockets);
  }

  handleDisconnect(socket: Socket): void {
    const userId = socket.data.userId as number | undefined;
    if (userId === undefined) return;
    const sockets = this.connectedUsers.get(userId);
    sockets?.delete(socket.id);
    if (sockets?.size === 0) this.connectedUsers.delete(userId);
  }

  @SubscribeMessage('join-conversation')
  @UseFilters(new ChatErrorFilter('error'))
  async handleJoinConversation(
    @MessageBody(validate(JoinConversationDto)) data: JoinConversationDto,
    @ConnectedSocket() socket: Socket,
  ): Promise<{ success: boolean; conversationId: number }> {
    const conversation = await firstValueFrom(
      this.chatsClient.send<Conversation>(PATTERNS.findConversation, { conversationId: data.conversationId }),
    );
    if (conversation.sender_id !== data.userId && conversation.receiver_id !== data.userId) {
      throw new WsException('Unauthorized to join this conversation');
    }
    await socket.join(`conversation:${data.conversationId}`);
    socket.emit('joined-conversation', { conversationId: data.conversationId, success: true });
    return { success: true, conversationId: data.conversationId };
  }

  @SubscribeMessage('leave-conversation')
  @UseFilters(new ChatErrorFilter('error'))
  async handleLeaveConversation(
    @MessageBody(validate(LeaveConversationDto)) data: LeaveConversationDto,
    @ConnectedSocket() socket: Socket,
  ): Promise<{ success: boolean; conversationId: number }> {
    await socket.leave(`conversation:${data.conversationId}`);
    return { success: true, conversationId: data.conversationId };
  }

  @SubscribeMessage('send-message')
  @UseFilters(new ChatErrorFilter('message-error'))
  async handleSendMessage(
    @MessageBody(validate(SendMessageDto)) dto: SendMessageDto,
    @ConnectedSocket() socket: Socket,
  ): Promise<{ success: true; message: Message }> {
    const message = await firstValueFrom(this.chatsClient.send<Message>(PATTERNS.createMessage, dto));
    socket.emit('message-sent', message);
    socket.to(`conversation:${dto.conversation_id}`).emit('receive-message', message);
    // The return value is also the Socket.IO ack (Nest calls the client's callback with it).
    return { success: true, message };
  }

  @SubscribeMessage('typing')
  @UseFilters(new ChatErrorFilter('error'))
  handleTyping(@MessageBody(validate(TypingDto)) data: TypingDto, @ConnectedSocket() socket: Socket): void {
    socket.to(`conversation:${data.conversationId}`).emit('user-typing', {
      conversationId: data.conversationId,
      userId: data.userId,
      isTyping: data.isTyping,
    });
  }
}

@Controller()
export class HealthController {
  @Get('health')
  health(): { status: string } {
    return { status: 'ok' };
  }
}

@Module({
  imports: [
    ClientsModule.register([{ name: CHATS_SERVICE, transport: Transport.REDIS, options: redisOptions() }]),
  ],
  controllers: [HealthController],
  providers: [ChatGateway],
})
export class GatewayModule {}

/** The standard Nest recipe: an IoAdapter whose servers use @socket.io/redis-adapter (classic pub/sub). */
export class RedisIoAdapter extends IoAdapter {
  private adapterConstructor: ReturnType<typeof createAdapter>;
  private readonly clients: Redis[] = [];

  constructor(app: INestApplication) {
    super(app);
  }

  async connectToRedis(): Promise<void> {
    const { host, port } = redisOptions();
    const pubClient = new Redis({ host, port, lazyConnect: true });
    const subClient = pubClient.duplicate();
    await Promise.all([pubClient.connect(), subClient.connect()]);
    this.clients.push(pubClient, subClient);
    this.adapterConstructor = createAdapter(pubClient, subClient, { key: ADAPTER_KEY });
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, options);
    server.adapter(this.adapterConstructor);
    return server;
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    await Promise.all(this.clients.map((c) => c.quit().catch(() => undefined)));
  }
}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(GatewayModule, { logger: ['error', 'warn'] });
  const redisIoAdapter = new RedisIoAdapter(app);
  await redisIoAdapter.connectToRedis();
  app.useWebSocketAdapter(redisIoAdapter);
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '127.0.0.1');
  console.log(`seed003 gateway listening on ${port}`);
  const stop = () => void app.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  exitWithParent();
}

await bootstrap();
