export * from './validators.js';
export * from './auth.dto.js';
export * from './conversations.dto.js';
export * from './messages.dto.js';
export * from './admin.dto.js';
export * from './webhooks.dto.js';
export * from './push.dto.js';
