export * from '../../tools/lib/app-process.js';
export * from '../../tools/lib/ports.js';
export * from '../../tools/lib/wait.js';
export * from './api.js';
export * from './cluster.js';
export * from './postgres.js';
export * from './redis.js';
export * from './tcp-proxy.js';
