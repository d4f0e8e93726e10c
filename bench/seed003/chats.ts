// The seed-003 chats service: a NestJS microservice on the built-in Redis transport, TypeORM on Postgres.
// Env: DATABASE_URL, REDIS_URL, SEED003_NS. Prints "seed003 chats listening" once subscribed.
// Run: node --import tsx bench/seed003/chats.ts
import 'reflect-metadata';
import { Controller, Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  MessagePattern,
  Payload,
  RpcException,
  Transport,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { Conversation, entities, Message, type MessageType } from './entities.js';
import {
  exitWithParent,
  PATTERNS,
  redisOptions,
  type CreateMessageRequest,
  type FindConversationRequest,
} from './patterns.js';

@Injectable()
export class ChatsService {
  constructor(
    @InjectRepository(Conversation) private readonly conversations: Repository<Conversation>,
    @InjectRepository(Message) private readonly messages: Repository<Message>,
  ) {}

  async findConversation(id: number): Promise<Conversation> {
    const conversation = await this.conversations.findOne({ where: { id } });
    if (!conversation) throw new RpcException('Conversation not found');
    return conversation;
  }

  async createMessage(dto: CreateMessageRequest): Promise<Message> {
    const conversation = await this.conversations.findOne({ where: { id: dto.conversation_id } });
    if (!conversation) throw new RpcException('Conversation not found');
    if (conversation.sender_id !== dto.sender_id && conversation.receiver_id !== dto.sender_id) {
      throw new RpcException('Unauthorized');
    }
    const message = this.messages.create({
      sender_id: dto.sender_id,
      conversation_id: dto.conversation_id,
      message_type: dto.message_type as MessageType,
      content: dto.content,
      conversation,
    });
    return this.messages.save(message);
  }
}

@Controller()
export class ChatsController {
  constructor(@Inject(ChatsService) private readonly chats: ChatsService) {}

  @MessagePattern(PATTERNS.findConversation)
  findConversation(@Payload() data: FindConversationRequest): Promise<Conversation> {
    return this.chats.findConversation(data.conversationId);
  }

  @MessagePattern(PATTERNS.createMessage)
  createMessage(@Payload() data: CreateMessageRequest): Promise<Message> {
    return this.chats.createMessage(data);
  }
}

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/seed003',
      entities,
      synchronize: true,
    }),
    TypeOrmModule.forFeature([Conversation, Message]),
  ],
  controllers: [ChatsController],
  providers: [ChatsService],
})
export class ChatsModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(ChatsModule, {
    transport: Transport.REDIS,
    options: redisOptions(),
    logger: ['error', 'warn'],
  });
  await app.listen();
  console.log('seed003 chats listening');
  const stop = () => void app.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  exitWithParent();
}

await bootstrap();
