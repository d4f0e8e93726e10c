import {
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { METRICS_REGISTRY } from '@parley/observability';
import { patternOf } from './rpc-validation.interceptor.js';
import { Counter, Histogram, type Registry } from 'prom-client';
import { tap, type Observable } from 'rxjs';

/** The RPC handling metrics (one instance per app; interceptors may be instantiated per controller). */
@Injectable()
export class RpcHandlerMetrics {
  readonly handled: Counter<'pattern' | 'outcome'>;
  readonly duration: Histogram<'pattern'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.handled = new Counter({
      name: 'parley_rpc_handled_total',
      help: 'RPC requests handled by this chats instance',
      labelNames: ['pattern', 'outcome'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'parley_rpc_handle_seconds',
      help: 'Time to handle an RPC request in the chats service (database included)',
      labelNames: ['pattern'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
  }
}

/** Counts and times every RPC handled here, by pattern and outcome. */
@Injectable()
export class RpcMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: RpcHandlerMetrics) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const pattern = patternOf(context.switchToRpc().getContext());
    const end = this.metrics.duration.startTimer({ pattern });
    return next.handle().pipe(
      tap({
        next: () => {
          end();
          this.metrics.handled.inc({ pattern, outcome: 'ok' });
        },
        error: (err: { status?: number }) => {
          end();
          this.metrics.handled.inc({ pattern, outcome: (err?.status ?? 500) >= 500 ? 'error' : 'rejected' });
        },
      }),
    );
  }
}
