import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  Logger,
  Param,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  ConversationDto,
  ConversationPageDto,
  CreateConversationDto,
  ErrorMessages,
  Limits,
  ListConversationsQueryDto,
  MarkReadDto,
  ReadMarkDto,
} from '@parley/contracts';
import type { Response } from 'express';
import { CurrentUserId } from '../auth/current-user.decorator.js';
import { ParseIdPipe } from '../common/parse-id.pipe.js';
import { ChatEvents } from '../realtime/chat-events.service.js';
import { PresenceService } from '../realtime/presence.service.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

@ApiTags('conversations')
@ApiBearerAuth()
@Controller('chats/conversations')
export class ConversationsController {
  private readonly logger = new Logger('Conversations');

  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly events: ChatEvents,
    private readonly presence: PresenceService,
  ) {}

  @Post()
  @ApiCreatedResponse({ type: ConversationDto, description: 'Created' })
  @ApiOkResponse({ type: ConversationDto, description: 'The pair already had this conversation' })
  @ApiForbiddenResponse({ description: 'sender_id is not the caller' })
  @ApiNotFoundResponse({ description: 'User not found (receiver_id)' })
  async create(
    @CurrentUserId() userId: number,
    @Body() dto: CreateConversationDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ConversationDto> {
    if (dto.sender_id !== undefined && dto.sender_id !== userId) {
      throw new ForbiddenException(ErrorMessages.senderMismatch);
    }
    const { conversation, created } = await this.rpc.call('conversations.create', {
      user_id: userId,
      receiver_id: dto.receiver_id,
    });
    res.status(created ? 201 : 200);
    if (created) {
      this.presence
        .contactsAdded(userId, dto.receiver_id)
        .catch((err: unknown) =>
          this.logger.warn(`presence of new contacts not shared: ${(err as Error).message}`),
        );
    }
    return conversation;
  }

  @Get()
  @ApiOkResponse({ type: ConversationPageDto, description: 'Most recent activity first' })
  list(
    @CurrentUserId() userId: number,
    @Query() query: ListConversationsQueryDto,
  ): Promise<ConversationPageDto> {
    return this.rpc.call('conversations.list', {
      user_id: userId,
      cursor: query.cursor ?? null,
      limit: query.limit ?? Limits.pageSizeDefault,
    });
  }

  @Get(':id')
  @ApiOkResponse({ type: ConversationDto })
  @ApiNotFoundResponse({ description: 'Conversation not found' })
  @ApiForbiddenResponse({ description: 'Not a participant' })
  get(@CurrentUserId() userId: number, @Param('id', ParseIdPipe) id: number): Promise<ConversationDto> {
    return this.rpc.call('conversations.get', { user_id: userId, conversation_id: id });
  }

  @Post(':id/read')
  @HttpCode(200)
  @ApiOkResponse({
    type: ReadMarkDto,
    description: "The caller's read mark after the call (it never moves back)",
  })
  async markRead(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Body() dto: MarkReadDto,
  ): Promise<ReadMarkDto> {
    const result = await this.rpc.call('conversations.mark-read', {
      user_id: userId,
      conversation_id: id,
      seq: dto.seq ?? null,
    });
    if (result.moved) this.events.readMarkMoved(id, userId, result.seq);
    return { conversationId: result.conversation_id, seq: result.seq };
  }
}
