import { applyDecorators, Controller, UseFilters, UseInterceptors } from '@nestjs/common';
import { RpcErrorFilter } from './rpc-exception.filter.js';
import { RpcMetricsInterceptor } from './rpc-metrics.interceptor.js';

/** A controller of `@MessagePattern` handlers: errors mapped for the gateway, every request counted and timed. */
export function RpcController(): ClassDecorator {
  return applyDecorators(Controller(), UseFilters(RpcErrorFilter), UseInterceptors(RpcMetricsInterceptor));
}
