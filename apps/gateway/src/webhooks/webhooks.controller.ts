import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  CreateWebhookDto,
  DeadLettersQueryDto,
  UpdateWebhookDto,
  WebhookDeadLetterPageDto,
  WebhookEndpointDto,
  WebhookEndpointListDto,
  WebhookReplayDto,
} from '@parley/contracts';
import { Public } from '@parley/observability';
import { AdminTokenGuard } from '../common/admin-token.guard.js';
import { ParseIdPipe } from '../common/parse-id.pipe.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

/**
 * The admin API's webhook endpoints (Bearer ADMIN_TOKEN). Requests are signed and retried as docs/integrations.md
 * describes; the chats service delivers them.
 */
@ApiTags('admin')
@ApiBearerAuth()
@ApiForbiddenResponse({ description: 'Admin token required' })
@Public()
@UseGuards(AdminTokenGuard)
@Controller('admin/webhooks')
export class WebhooksController {
  constructor(private readonly rpc: ChatsRpcClient) {}

  @Post()
  @ApiCreatedResponse({ type: WebhookEndpointDto, description: 'The endpoint, with its signing secret' })
  @ApiBadRequestResponse({ description: 'A bad URL or event type, or too many webhook endpoints' })
  create(@Body() dto: CreateWebhookDto): Promise<WebhookEndpointDto> {
    return this.rpc.call('webhooks.create', {
      url: dto.url,
      events: dto.events,
      description: dto.description ?? null,
      enabled: dto.enabled ?? true,
    });
  }

  @Get()
  @ApiOkResponse({ type: WebhookEndpointListDto })
  list(): Promise<WebhookEndpointListDto> {
    return this.rpc.call('webhooks.list', {});
  }

  @Get(':id')
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiNotFoundResponse({ description: 'Webhook endpoint not found' })
  get(@Param('id', ParseIdPipe) id: number): Promise<WebhookEndpointDto> {
    return this.rpc.call('webhooks.get', { id });
  }

  @Patch(':id')
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiNotFoundResponse({ description: 'Webhook endpoint not found' })
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateWebhookDto): Promise<WebhookEndpointDto> {
    return this.rpc.call('webhooks.update', { id, ...dto });
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted, with its pending deliveries and dead letters' })
  @ApiNotFoundResponse({ description: 'Webhook endpoint not found' })
  async delete(@Param('id', ParseIdPipe) id: number): Promise<void> {
    await this.rpc.call('webhooks.delete', { id });
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOkResponse({ type: WebhookEndpointDto, description: 'The endpoint, with its new signing secret' })
  @ApiNotFoundResponse({ description: 'Webhook endpoint not found' })
  rotateSecret(@Param('id', ParseIdPipe) id: number): Promise<WebhookEndpointDto> {
    return this.rpc.call('webhooks.rotate-secret', { id });
  }

  @Get(':id/dead-letters')
  @ApiOkResponse({ type: WebhookDeadLetterPageDto, description: 'Newest first' })
  @ApiNotFoundResponse({ description: 'Webhook endpoint not found' })
  deadLetters(
    @Param('id', ParseIdPipe) id: number,
    @Query() query: DeadLettersQueryDto,
  ): Promise<WebhookDeadLetterPageDto> {
    return this.rpc.call('webhooks.dead-letters', {
      id,
      before_id: query.before_id ?? null,
      limit: query.limit ?? 50,
    });
  }

  @Post(':id/dead-letters/replay')
  @HttpCode(200)
  @ApiOkResponse({
    type: WebhookReplayDto,
    description: 'The dead letters are due again, with fresh retries',
  })
  @ApiNotFoundResponse({ description: 'Webhook endpoint not found' })
  replay(@Param('id', ParseIdPipe) id: number): Promise<WebhookReplayDto> {
    return this.rpc.call('webhooks.replay', { id });
  }
}
