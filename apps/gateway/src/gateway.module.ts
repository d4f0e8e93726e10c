import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { redisOptionsFromUrl } from '@parley/config';
import { CHATS_SERVICE } from '@parley/contracts';
import { ClientRedis } from '@nestjs/microservices';
import { LifecycleService, loggingModule, MetricsModule } from '@parley/observability';
import { RedisStreamsClient } from '@parley/redis-streams';
import { AuthController } from './auth/auth.controller.js';
import { AuthService } from './auth/auth.service.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { TokenService } from './auth/token.service.js';
import { ConversationsController } from './chats/conversations.controller.js';
import { MessagesController } from './chats/messages.controller.js';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config.js';
import { HealthController } from './health/health.controller.js';
import { UsersController } from './users/users.controller.js';
import { INSTANCE_ID } from './gateway.tokens.js';
import { AsyncApiController } from './docs/asyncapi.controller.js';
import { ChatEvents } from './realtime/chat-events.service.js';
import { ChatGateway } from './realtime/chat.gateway.js';
import { RealtimeMetrics } from './realtime/realtime.metrics.js';
import { ContactsCache } from './realtime/contacts.cache.js';
import { MembershipCache } from './realtime/membership.cache.js';
import { PresenceService } from './realtime/presence.service.js';
import { redisServiceProvider } from './redis/redis.service.js';
import { RateLimiterService } from './common/rate-limiter.service.js';
import { CHATS_TRANSPORT, ChatsRpcClient } from './rpc/chats-rpc.client.js';

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig, instanceId: string): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        loggingModule({ app: 'gateway', instance: instanceId, level: config.logLevel }),
        MetricsModule.forRoot({ app: 'gateway', instance: instanceId }),
        TerminusModule,
      ],
      controllers: [
        HealthController,
        AuthController,
        UsersController,
        ConversationsController,
        MessagesController,
        AsyncApiController,
      ],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: INSTANCE_ID, useValue: instanceId },
        {
          provide: CHATS_TRANSPORT,
          useFactory: () =>
            config.rpcTransport === 'redis-pubsub'
              ? new ClientRedis({
                  ...redisOptionsFromUrl(config.redisUrl),
                  retryAttempts: 1_000_000,
                  retryDelay: 1000,
                })
              : new RedisStreamsClient({
                  redis: config.redisUrl,
                  keyPrefix: config.redisPrefix,
                  service: CHATS_SERVICE,
                  clientId: instanceId,
                  timeoutMs: config.rpcTimeoutMs,
                }),
        },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        LifecycleService,
        redisServiceProvider,
        ChatsRpcClient,
        TokenService,
        AuthService,
        RateLimiterService,
        ChatEvents,
        ContactsCache,
        MembershipCache,
        PresenceService,
        RealtimeMetrics,
        ChatGateway,
      ],
    };
  }
}
