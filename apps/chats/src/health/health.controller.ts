import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { LifecycleService, notDrainingHealth, redisHealth } from '@parley/observability';
import { RPC_SERVER, type RpcServerHandle } from '../chats.tokens.js';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly postgres: TypeOrmHealthIndicator,
    private readonly lifecycle: LifecycleService,
    @Inject(RPC_SERVER) private readonly rpc: RpcServerHandle,
  ) {}

  /** The process is up and its event loop turns. */
  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** Ready for work: Postgres and Redis answer, and the instance is not draining. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => notDrainingHealth(this.indicator, this.lifecycle),
      () => this.postgres.pingCheck('postgres', { timeout: 1000 }),
      () => redisHealth(this.indicator, 'redis', this.rpc.redis()),
    ]);
  }
}
