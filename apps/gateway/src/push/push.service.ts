import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import {
  PushLimits,
  pushEndpointProblem,
  type CreatePushSubscriptionDto,
  type Id,
  type PushSubscriptionDto,
} from '@parley/contracts';
import { AppErrors } from '../common/app.error.js';
import { RateLimits } from '../common/rate-limits.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

/**
 * Web Push subscriptions of the caller's devices (docs/integrations.md, "Web Push"). The endpoint is a URL the chats service will POST
 * to, chosen by the client: it must be https and name no loopback or private host (PUSH_ALLOW_PRIVATE_ENDPOINTS
 * lifts that for tests and closed networks). The keys' shape was checked by the DTO.
 */
@Injectable()
export class PushService {
  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly limits: RateLimits,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /**
   * The VAPID public key a browser subscribes with (applicationServerKey); null when push is off. A 200 either way:
   * asking is part of every page load, and a 404 there would be an error in every browser console.
   */
  publicKey(): string | null {
    return this.config.vapidPublicKey ?? null;
  }

  async subscribe(
    userId: Id,
    dto: CreatePushSubscriptionDto,
    userAgent: string | undefined,
  ): Promise<PushSubscriptionDto> {
    if (!this.config.vapidPublicKey) throw AppErrors.pushDisabled();
    const problem = pushEndpointProblem(dto.endpoint, this.config.pushAllowPrivateEndpoints);
    if (problem) throw new BadRequestException(problem);
    await this.limits.consume('settings', userId);
    return this.rpc.call('push.subscribe', {
      user_id: userId,
      endpoint: dto.endpoint,
      p256dh: dto.keys.p256dh,
      auth: dto.keys.auth,
      expires_at: typeof dto.expirationTime === 'number' ? new Date(dto.expirationTime).toISOString() : null,
      // Node's HTTP parser admits no NUL or non-Latin-1 in a header: it is storable text as it is.
      user_agent: userAgent ? userAgent.slice(0, PushLimits.userAgentMaxLength) : null,
    });
  }

  /** Removes the caller's subscription with this endpoint; nothing happens for another user's (idempotent). */
  async unsubscribe(userId: Id, endpoint: string): Promise<void> {
    await this.limits.consume('settings', userId);
    await this.rpc.call('push.unsubscribe', { user_id: userId, endpoint });
  }
}
