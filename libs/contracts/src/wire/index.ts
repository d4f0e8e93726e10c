export * from './models.js';
export * from './limits.js';
export * from './errors.js';
export * from './socket-events.js';
export * from './webhooks.js';
