import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LifecycleService, loggingModule, MetricsModule, TRACE_KEY } from '@parley/observability';
import type { RedisStreamsContext } from '@parley/redis-streams';
import { DataSource } from 'typeorm';
import { RpcErrorFilter } from './common/rpc-exception.filter.js';
import { RpcHandlerMetrics, RpcMetricsInterceptor } from './common/rpc-metrics.interceptor.js';
import { RpcValidationInterceptor } from './common/rpc-validation.interceptor.js';
import { CHATS_CONFIG, type ChatsConfig } from './config/chats.config.js';
import { ConversationsController } from './conversations/conversations.controller.js';
import { ConversationsService } from './conversations/conversations.service.js';
import { MembersController } from './conversations/members.controller.js';
import { MembersService } from './conversations/members.service.js';
import { BlocksController } from './blocks/blocks.controller.js';
import { BlocksService } from './blocks/blocks.service.js';
import { MentorsController } from './mentors/mentors.controller.js';
import { MentorsService } from './mentors/mentors.service.js';
import { dataSourceOptions, migrateOnce, migrateOptions } from './database/data-source.js';
import { Db } from './database/db.service.js';
import { ReadReplica } from './database/read-replica.js';
import { HealthController } from './health/health.controller.js';
import { MessagesController } from './messages/messages.controller.js';
import { MessageChangesService } from './messages/message-changes.service.js';
import { MessagesService } from './messages/messages.service.js';
import { PushController } from './push/push.controller.js';
import { PushService } from './push/push.service.js';
import { RPC_SERVER, type RpcServerHandle } from './chats.tokens.js';
import { RpcTransportMetrics } from './rpc-metrics.js';
import { SessionsController } from './sessions/sessions.controller.js';
import { SessionsService } from './sessions/sessions.service.js';
import { PasswordHasher } from './users/password-hasher.js';
import { UsersController } from './users/users.controller.js';
import { UsersService } from './users/users.service.js';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';
import { WebhooksService } from './webhooks/webhooks.service.js';

@Module({})
export class ChatsModule {
  static forRoot(config: ChatsConfig, rpc: RpcServerHandle, instanceId: string): DynamicModule {
    return {
      module: ChatsModule,
      imports: [
        loggingModule({
          app: 'chats',
          instance: instanceId,
          level: config.logLevel,
          rpcTraceId: (context) =>
            context.switchToRpc().getContext<RedisStreamsContext>().getMetadata?.()?.[TRACE_KEY],
        }),
        MetricsModule.forRoot({ app: 'chats', instance: instanceId }),
        TerminusModule,
        TypeOrmModule.forRootAsync({
          useFactory: () =>
            dataSourceOptions(config.databaseUrl, config.dbPoolSize, {
              statementTimeoutMs: config.dbStatementTimeoutMs,
              acquireTimeoutMs: config.dbAcquireTimeoutMs,
              idleTimeoutMs: config.dbIdleTimeoutMs,
              pooler: config.databasePooler,
            }),
          dataSourceFactory: async (options) => {
            if (config.migrateOnStart) await migrateOnce(config.databaseUrl, migrateOptions(config));
            return new DataSource(options!).initialize();
          },
        }),
      ],
      controllers: [
        HealthController,
        UsersController,
        SessionsController,
        ConversationsController,
        MembersController,
        BlocksController,
        MentorsController,
        MessagesController,
        WebhooksController,
        PushController,
      ],
      providers: [
        { provide: CHATS_CONFIG, useValue: config },
        { provide: RPC_SERVER, useValue: rpc },
        LifecycleService,
        RpcErrorFilter,
        RpcHandlerMetrics,
        RpcMetricsInterceptor,
        RpcValidationInterceptor,
        RpcTransportMetrics,
        ReadReplica,
        Db,
        UsersService,
        PasswordHasher,
        SessionsService,
        ConversationsService,
        MembersService,
        BlocksService,
        MentorsService,
        MessagesService,
        MessageChangesService,
        WebhooksService,
        WebhookDispatcher,
        PushService,
      ],
    };
  }
}
