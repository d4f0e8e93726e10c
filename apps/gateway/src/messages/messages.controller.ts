import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpException,
  HttpStatus,
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
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import {
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
import { ParseIdPipe } from '../common/parse-id.pipe.js';
import { RateLimiterService } from '../common/rate-limiter.service.js';
import { ChatEvents } from '../realtime/chat-events.service.js';
import { RealtimeMetrics } from '../realtime/realtime.metrics.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

@ApiTags('messages')
@ApiBearerAuth()
@ApiNotFoundResponse({ description: 'Conversation not found' })
@ApiForbiddenResponse({ description: 'Not a participant' })
@Controller('chats/conversations/:id/messages')
export class MessagesController {
  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly events: ChatEvents,
    private readonly rateLimiter: RateLimiterService,
    private readonly metrics: RealtimeMetrics,
  ) {}

  @Get()
  @ApiOkResponse({ type: MessagePageDto })
  history(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Query() query: HistoryQueryDto,
  ): Promise<MessagePageDto> {
    return this.rpc.call('messages.history', historyRequest(userId, id, query));
  }

  @Post()
  @ApiCreatedResponse({ type: MessageDto, description: 'Stored' })
  @ApiOkResponse({
    type: MessageDto,
    description: 'A repeated client_message_id: the message stored the first time',
  })
  @ApiTooManyRequestsResponse({ description: 'Rate limit exceeded (shared with Socket.IO sends)' })
  async send(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Body() dto: MessageBodyDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageDto> {
    if (!(await this.rateLimiter.take('messages', userId))) {
      throw new HttpException(ErrorMessages.rateLimited, HttpStatus.TOO_MANY_REQUESTS);
    }
    const result = await this.rpc.call('messages.send', {
      sender_id: userId,
      conversation_id: id,
      message_type: dto.message_type,
      content: dto.content,
      client_message_id: dto.client_message_id ?? null,
    });
    res.status(result.created ? 201 : 200);
    this.events.messageStored(result);
    if (result.created) this.metrics.messagesReceived.inc({ transport: 'rest' });
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
