export * from './metrics.module.js';
export * from './lifecycle.service.js';
export * from './health.js';
export * from './logging.js';
export * from './public.decorator.js';
