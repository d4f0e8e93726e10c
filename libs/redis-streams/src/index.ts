export * from './redis-streams.options.js';
export * from './redis-streams.server.js';
export * from './redis-streams.client.js';
export * from './redis-streams.context.js';
export * from './redis-streams.keys.js';
export * from './redis-connection.js';
export * from './rpc.errors.js';
export * from './sharded-redis-streams.server.js';
export { onBehalfOf, TRACE_LINKS_KEY } from './rpc-tracing.js';
