export * from './api.js';
export * from './cluster.js';
export * from './ports.js';
export * from './postgres.js';
export * from './processes.js';
export * from './redis.js';
export * from './tcp-proxy.js';
export * from './wait.js';
