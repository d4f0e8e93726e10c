import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { redisOptionsFromUrl, rpcStreamShards } from '@parley/config';
import { CHATS_SERVICE } from '@parley/contracts';
import { ClientRedis } from '@nestjs/microservices';
import { LifecycleService, loggingModule, MetricsModule } from '@parley/observability';
import { RedisStreamsClient } from '@parley/redis-streams';
import { AuthController } from './auth/auth.controller.js';
import { AuthGateway } from './auth/auth.gateway.js';
import { AuthService } from './auth/auth.service.js';
import { AuthThrottle } from './auth/auth-throttle.service.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { SessionRevocations } from './auth/session-revocations.service.js';
import { TokenService } from './auth/token.service.js';
import { RateLimits } from './common/rate-limits.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config.js';
import { CompatHub } from './compat/compat-hub.js';
import { CompatServer } from './compat/compat-server.js';
import { ConversationsController, UnreadController } from './conversations/conversations.controller.js';
import { MembersController } from './conversations/members.controller.js';
import { MembersService } from './conversations/members.service.js';
import { ConversationsGateway } from './conversations/conversations.gateway.js';
import { ConversationsService } from './conversations/conversations.service.js';
import { AsyncApiController } from './docs/asyncapi.controller.js';
import { INSTANCE_ID } from './gateway.tokens.js';
import { HealthController } from './health/health.controller.js';
import { AdminTokenGuard } from './common/admin-token.guard.js';
import { MentorsController } from './mentors/mentors.controller.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';
import { MentorsService } from './mentors/mentors.service.js';
import { MessagesController } from './messages/messages.controller.js';
import { MessagesGateway } from './messages/messages.gateway.js';
import { MessagesService } from './messages/messages.service.js';
import { ChatEvents } from './realtime/chat-events.service.js';
import { DirectDelivery } from './realtime/direct-delivery.js';
import { ConversationUpdates } from './realtime/conversation-updates.service.js';
import { ChatGateway } from './realtime/chat.gateway.js';
import { ConnectionsByAddress } from './realtime/connections-by-address.js';
import { ContactsCache } from './presence/contacts.cache.js';
import { PresenceService } from './presence/presence.service.js';
import { RealtimeMetrics } from './realtime/realtime.metrics.js';
import { SocketAdmissionInterceptor } from './realtime/socket-admission.interceptor.js';
import { SocketAuth } from './realtime/socket-auth.js';
import { SocketSessions } from './realtime/socket-sessions.js';
import { PushController } from './push/push.controller.js';
import { PushService } from './push/push.service.js';
import { redisServiceProvider } from './redis/redis.service.js';
import { CHATS_TRANSPORT, ChatsRpcClient } from './rpc/chats-rpc.client.js';
import { SendBatcher } from './rpc/send-batcher.js';
import { UsersController } from './users/users.controller.js';
import { UsersService } from './users/users.service.js';

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
        UnreadController,
        MembersController,
        MessagesController,
        AsyncApiController,
        MentorsController,
        WebhooksController,
        PushController,
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
                  shards: rpcStreamShards(config),
                  clientId: instanceId,
                  timeoutMs: config.rpcTimeoutMs,
                  maxInFlight: config.rpcMaxInFlight,
                }),
        },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        LifecycleService,
        redisServiceProvider,
        ChatsRpcClient,
        SendBatcher,
        RateLimits,
        // auth
        TokenService,
        AuthThrottle,
        SessionRevocations,
        AuthService,
        AuthGateway,
        // users, conversations, messages
        UsersService,
        ConversationsService,
        ConversationsGateway,
        MembersService,
        MessagesService,
        MessagesGateway,
        PushService,
        // the /chat namespace
        SocketAuth,
        SocketSessions,
        SocketAdmissionInterceptor,
        ChatEvents,
        ConversationUpdates,
        DirectDelivery,
        RealtimeMetrics,
        // the other seeds' plain-WebSocket clients, and seed 001's mentors
        AdminTokenGuard,
        MentorsService,
        CompatHub,
        CompatServer,
        ConnectionsByAddress,
        // presence
        ContactsCache,
        PresenceService,
        ChatGateway,
      ],
    };
  }
}
