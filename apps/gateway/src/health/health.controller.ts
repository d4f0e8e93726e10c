import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { LifecycleService, notDrainingHealth, Public, redisHealth } from '@parley/observability';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

@ApiTags('operations')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly lifecycle: LifecycleService,
    private readonly rpc: ChatsRpcClient,
  ) {}

  /** The process is up and its event loop turns. */
  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** Ready for traffic: Redis answers and the instance is not draining. (The gateway has no database.) */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => notDrainingHealth(this.indicator, this.lifecycle),
      () => redisHealth(this.indicator, 'redis', this.rpc.redis()),
    ]);
  }
}
