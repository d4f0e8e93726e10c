import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import {
  CreatePushSubscriptionDto,
  PushEndpointDto,
  PushPublicKeyDto,
  PushSubscriptionDto,
} from '@parley/contracts';
import { CurrentUserId } from '../auth/current-user.decorator.js';
import { PushService } from './push.service.js';

/** Web Push: a device registers its PushSubscription, and is notified of messages while it has no socket open. */
@ApiTags('push')
@ApiBearerAuth()
@ApiTooManyRequestsResponse({ description: 'Rate limit exceeded (settings, per user)' })
@Controller('push')
export class PushController {
  constructor(private readonly push: PushService) {}

  @Get('public-key')
  @ApiOkResponse({
    type: PushPublicKeyDto,
    description: "PushManager.subscribe's applicationServerKey; public_key null when push is off",
  })
  publicKey(): PushPublicKeyDto {
    return { public_key: this.push.publicKey() };
  }

  @Post('subscriptions')
  @ApiNotFoundResponse({ description: 'Push notifications are not enabled (no VAPID keys configured)' })
  @ApiCreatedResponse({ type: PushSubscriptionDto, description: 'Registered (or taken over, see replaced)' })
  @ApiBadRequestResponse({
    description:
      'Validation (keys); endpoint must be an https URL; endpoint must not point to a private or loopback address; Too many push subscriptions',
  })
  subscribe(
    @CurrentUserId() userId: number,
    @Body() body: CreatePushSubscriptionDto,
    @Headers('user-agent') userAgent?: string,
  ): Promise<PushSubscriptionDto> {
    return this.push.subscribe(userId, body, userAgent);
  }

  @Delete('subscriptions')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Removed, or there was none (idempotent)' })
  @ApiBadRequestResponse({ description: 'endpoint should not be empty (in the body or the query string)' })
  async unsubscribe(
    @CurrentUserId() userId: number,
    @Body() body: PushEndpointDto,
    @Query() query: PushEndpointDto,
  ): Promise<void> {
    const endpoint = body.endpoint ?? query.endpoint;
    if (!endpoint) throw new BadRequestException(['endpoint should not be empty']);
    await this.push.unsubscribe(userId, endpoint);
  }
}
