import { Controller, Get, Header, Inject, Module, type DynamicModule } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Public } from './public.decorator.js';

export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

@ApiExcludeController()
@Public()
@Controller('metrics')
class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * `GET /metrics` in Prometheus text format: this app's metrics plus Node's defaults (event-loop lag, heap, GC,
 * CPU, RSS). Each app gets its own registry, labelled with the app's name, so tests can run several in one
 * process without their counters mixing.
 */
@Module({})
export class MetricsModule {
  static forRoot(opts: { app: string; instance: string }): DynamicModule {
    const registry = new Registry();
    registry.setDefaultLabels({ app: opts.app, instance: opts.instance });
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
    return {
      module: MetricsModule,
      global: true,
      controllers: [MetricsController],
      providers: [{ provide: METRICS_REGISTRY, useValue: registry }],
      exports: [METRICS_REGISTRY],
    };
  }
}
