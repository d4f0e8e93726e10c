export * from './wire/index.js';
export * from './rpc/index.js';
export * from './rest/index.js';
export * from './socket/index.js';
export * from './push/index.js';
