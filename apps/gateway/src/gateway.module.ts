import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { CHATS_SERVICE } from '@parley/contracts';
import { LifecycleService, MetricsModule } from '@parley/observability';
import { RedisStreamsClient } from '@parley/redis-streams';
import { AuthController } from './auth/auth.controller.js';
import { AuthService } from './auth/auth.service.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { TokenService } from './auth/token.service.js';
import { ConversationsController } from './chats/conversations.controller.js';
import { MessagesController } from './chats/messages.controller.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { StrictValidationPipe } from './common/validation.pipe.js';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config.js';
import { HealthController } from './health/health.controller.js';
import { CHATS_TRANSPORT, ChatsRpcClient } from './rpc/chats-rpc.client.js';

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig, instanceId: string): DynamicModule {
    return {
      module: GatewayModule,
      imports: [MetricsModule.forRoot({ app: 'gateway', instance: instanceId }), TerminusModule],
      controllers: [HealthController, AuthController, ConversationsController, MessagesController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        {
          provide: CHATS_TRANSPORT,
          useFactory: () =>
            new RedisStreamsClient({
              redis: config.redisUrl,
              keyPrefix: config.redisPrefix,
              service: CHATS_SERVICE,
              clientId: instanceId,
              timeoutMs: config.rpcTimeoutMs,
            }),
        },
        { provide: APP_PIPE, useClass: StrictValidationPipe },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        LifecycleService,
        ChatsRpcClient,
        TokenService,
        AuthService,
      ],
    };
  }
}
