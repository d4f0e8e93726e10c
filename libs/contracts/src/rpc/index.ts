export * from './chats.rpc.js';
