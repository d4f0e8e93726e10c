import { applyDecorators, Controller, UseFilters, UseInterceptors } from '@nestjs/common';
import { RpcErrorFilter } from './rpc-exception.filter.js';
import { RpcMetricsInterceptor } from './rpc-metrics.interceptor.js';
import { RpcValidationInterceptor } from './rpc-validation.interceptor.js';

/**
 * A controller of `@MessagePattern` handlers: every request counted and timed, checked against its schema, and
 * its errors mapped for the gateway.
 */
export function RpcController(): ClassDecorator {
  return applyDecorators(
    Controller(),
    UseFilters(RpcErrorFilter),
    UseInterceptors(RpcMetricsInterceptor, RpcValidationInterceptor),
  );
}
