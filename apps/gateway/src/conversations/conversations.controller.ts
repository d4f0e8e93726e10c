import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
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
  MuteDto,
  ReadMarkDto,
  UnreadSummaryDto,
  UpdateConversationDto,
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
  @ApiCreatedResponse({ type: ConversationDto, description: 'Created (a group always is)' })
  @ApiOkResponse({ type: ConversationDto, description: 'The pair already had this direct conversation' })
  @ApiForbiddenResponse({
    description: 'sender_id is not the caller; You cannot message this user (a block)',
  })
  @ApiNotFoundResponse({ description: 'User not found (receiver_id, member_ids)' })
  @ApiBadRequestResponse({ description: 'Validation; A group has too many members' })
  async create(
    @CurrentUserId() userId: number,
    @Body() dto: CreateConversationDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ConversationDto> {
    if (dto.sender_id !== undefined && dto.sender_id !== userId) {
      throw new ForbiddenException(ErrorMessages.senderMismatch);
    }
    if (dto.type === 'group') {
      res.status(201);
      return this.conversations.createGroup(userId, {
        title: dto.title!,
        memberIds: dto.member_ids!,
        metadata: dto.metadata ?? {},
      });
    }
    if (dto.title !== undefined || dto.member_ids !== undefined || dto.metadata !== undefined) {
      throw new BadRequestException("title, member_ids and metadata are for type 'group'");
    }
    const { conversation, created } = await this.conversations.createDirect(userId, dto.receiver_id!);
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

  @Patch(':id')
  @ApiOkResponse({ type: ConversationDto, description: 'Owner and admins of a group' })
  @ApiForbiddenResponse({ description: 'Not allowed (a member, or a direct conversation)' })
  async update(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Body() dto: UpdateConversationDto,
  ): Promise<ConversationDto> {
    if (dto.title === undefined && dto.metadata === undefined) {
      throw new BadRequestException('title or metadata should not be empty');
    }
    return this.conversations.update(userId, id, { title: dto.title, metadata: dto.metadata });
  }

  @Put(':id/mute')
  @ApiOkResponse({ type: ConversationDto, description: 'Muted for the caller only' })
  mute(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Body() dto: MuteDto,
  ): Promise<ConversationDto> {
    return this.conversations.mute(userId, id, dto.until ?? null);
  }

  @Delete(':id/mute')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Unmuted' })
  unmute(@CurrentUserId() userId: number, @Param('id', ParseIdPipe) id: number): Promise<void> {
    return this.conversations.unmute(userId, id);
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

/** `GET /api/chats/unread`: the badge over all of the caller's conversations. */
@ApiTags('conversations')
@ApiBearerAuth()
@ApiTooManyRequestsResponse({ description: 'Rate limit exceeded (history and conversation reads)' })
@Controller('chats')
export class UnreadController {
  constructor(private readonly conversations: ConversationsService) {}

  @Get('unread')
  @ApiOkResponse({ type: UnreadSummaryDto, description: "Unread over all of the caller's conversations" })
  unread(@CurrentUserId() userId: number): Promise<UnreadSummaryDto> {
    return this.conversations.unread(userId);
  }
}
