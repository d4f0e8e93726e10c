import { Body, Controller, ForbiddenException, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
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
import { ConversationsService } from './conversations.service.js';

@ApiTags('conversations')
@ApiBearerAuth()
@ApiTooManyRequestsResponse({ description: 'Rate limit exceeded (per user, shared with Socket.IO)' })
@ApiServiceUnavailableResponse({ description: 'Service busy, retry later' })
@Controller('chats/conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

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
    const { conversation, created } = await this.conversations.create(userId, dto.receiver_id);
    res.status(created ? 201 : 200);
    return conversation;
  }

  @Get()
  @ApiOkResponse({ type: ConversationPageDto, description: 'Most recent activity first' })
  list(
    @CurrentUserId() userId: number,
    @Query() query: ListConversationsQueryDto,
  ): Promise<ConversationPageDto> {
    return this.conversations.list(userId, query.cursor ?? null, query.limit ?? Limits.pageSizeDefault);
  }

  @Get(':id')
  @ApiOkResponse({ type: ConversationDto })
  @ApiNotFoundResponse({ description: 'Conversation not found' })
  @ApiForbiddenResponse({ description: 'Not a participant' })
  get(@CurrentUserId() userId: number, @Param('id', ParseIdPipe) id: number): Promise<ConversationDto> {
    return this.conversations.get(userId, id);
  }

  @Post(':id/read')
  @HttpCode(200)
  @ApiOkResponse({
    type: ReadMarkDto,
    description: "The caller's read mark after the call (it never moves back)",
  })
  markRead(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Body() dto: MarkReadDto,
  ): Promise<ReadMarkDto> {
    return this.conversations.markRead(userId, id, dto.seq);
  }
}
