export * from './metrics.module.js';
export * from './lifecycle.service.js';
export * from './health.js';
export * from './logging.js';
export * from './public.decorator.js';
export * from './trace-context.js';
export type { Tracing } from './tracing.js';
