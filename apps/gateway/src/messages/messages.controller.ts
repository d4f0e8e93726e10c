import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
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
  EditMessageBodyDto,
  ErrorMessages,
  HistoryQueryDto,
  Limits,
  MessageBodyDto,
  MessageDto,
  MessagePageDto,
  type HistoryRequest,
} from '@parley/contracts';
import type { Response } from 'express';
import { CurrentUserId } from '../auth/current-user.decorator.js';
import { ParseEmojiPipe } from '../common/parse-emoji.pipe.js';
import { ParseIdPipe } from '../common/parse-id.pipe.js';
import { MessagesService } from './messages.service.js';

@ApiTags('messages')
@ApiBearerAuth()
@ApiNotFoundResponse({ description: 'Conversation not found, or Message not found' })
@ApiForbiddenResponse({ description: 'Not a participant' })
@ApiTooManyRequestsResponse({ description: 'Rate limit exceeded (per user, shared with Socket.IO)' })
@ApiServiceUnavailableResponse({ description: 'Service busy, retry later' })
@Controller('chats/conversations/:id/messages')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Get()
  @ApiOkResponse({ type: MessagePageDto })
  history(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Query() query: HistoryQueryDto,
  ): Promise<MessagePageDto> {
    return this.messages.history(historyRequest(userId, id, query));
  }

  @Post()
  @ApiCreatedResponse({ type: MessageDto, description: 'Stored' })
  @ApiOkResponse({
    type: MessageDto,
    description: 'A repeated client_message_id: the message stored the first time',
  })
  async send(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Body() dto: MessageBodyDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageDto> {
    const result = await this.messages.send(userId, id, dto);
    res.status(result.created ? 201 : 200);
    return result.message;
  }

  @Patch(':messageId')
  @ApiOkResponse({ type: MessageDto, description: 'The message after the edit (sets edited_at)' })
  @ApiForbiddenResponse({
    description: 'Only the author can edit this message; Not allowed (not a text message)',
  })
  async edit(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Param('messageId', ParseIdPipe) messageId: number,
    @Body() dto: EditMessageBodyDto,
  ): Promise<MessageDto> {
    return (await this.messages.edit(userId, id, messageId, dto.content)).message;
  }

  @Delete(':messageId')
  @ApiOkResponse({ type: MessageDto, description: 'The tombstone (deleted_at set, content and files gone)' })
  @ApiForbiddenResponse({ description: "Not allowed (neither the author nor a group's owner or admin)" })
  async delete(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Param('messageId', ParseIdPipe) messageId: number,
  ): Promise<MessageDto> {
    return (await this.messages.delete(userId, id, messageId)).message;
  }

  @Put(':messageId/reactions/:emoji')
  @ApiOkResponse({ type: MessageDto, description: "The message with the caller's reaction" })
  @ApiBadRequestResponse({ description: ErrorMessages.tooManyReactions })
  async react(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Param('messageId', ParseIdPipe) messageId: number,
    @Param('emoji', ParseEmojiPipe) emoji: string,
  ): Promise<MessageDto> {
    return (await this.messages.react(userId, id, messageId, emoji, true)).message;
  }

  @Delete(':messageId/reactions/:emoji')
  @ApiOkResponse({ type: MessageDto, description: "The message without the caller's reaction" })
  async unreact(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Param('messageId', ParseIdPipe) messageId: number,
    @Param('emoji', ParseEmojiPipe) emoji: string,
  ): Promise<MessageDto> {
    return (await this.messages.react(userId, id, messageId, emoji, false)).message;
  }
}

function historyRequest(userId: number, conversationId: number, q: HistoryQueryDto): HistoryRequest {
  const base = { user_id: userId, conversation_id: conversationId, limit: q.limit ?? Limits.pageSizeDefault };
  const given = [q.page, q.before_seq, q.after_seq, q.after_version].filter((v) => v !== undefined).length;
  if (given > 1) {
    throw new BadRequestException('Use only one of page, before_seq, after_seq and after_version');
  }
  if (q.after_version !== undefined) return { ...base, mode: 'version', after_version: q.after_version };
  if (q.before_seq !== undefined) return { ...base, mode: 'before', before_seq: q.before_seq };
  if (q.after_seq !== undefined) return { ...base, mode: 'after', after_seq: q.after_seq };
  return { ...base, mode: 'page', page: q.page ?? 1 };
}
