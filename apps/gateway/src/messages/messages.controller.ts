import { BadRequestException, Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
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
  HistoryQueryDto,
  Limits,
  MessageBodyDto,
  MessageDto,
  MessagePageDto,
  type HistoryRequest,
} from '@parley/contracts';
import type { Response } from 'express';
import { CurrentUserId } from '../auth/current-user.decorator.js';
import { ParseIdPipe } from '../common/parse-id.pipe.js';
import { MessagesService } from './messages.service.js';

@ApiTags('messages')
@ApiBearerAuth()
@ApiNotFoundResponse({ description: 'Conversation not found' })
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
}

function historyRequest(userId: number, conversationId: number, q: HistoryQueryDto): HistoryRequest {
  const base = { user_id: userId, conversation_id: conversationId, limit: q.limit ?? Limits.pageSizeDefault };
  const given = [q.page, q.before_seq, q.after_seq].filter((v) => v !== undefined).length;
  if (given > 1) throw new BadRequestException('Use only one of page, before_seq and after_seq');
  if (q.before_seq !== undefined) return { ...base, mode: 'before', before_seq: q.before_seq };
  if (q.after_seq !== undefined) return { ...base, mode: 'after', after_seq: q.after_seq };
  return { ...base, mode: 'page', page: q.page ?? 1 };
}
