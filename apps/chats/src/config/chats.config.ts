import { bool, commonConfigSchema, int, loadConfig, url, type ConfigOf, type Env } from '@parley/config';

export const chatsConfigSchema = {
  ...commonConfigSchema,
  port: int('PORT', { default: 3101, min: 1, max: 65535, description: 'HTTP port of /health and /metrics' }),
  databaseUrl: url('DATABASE_URL', {
    default: 'postgres://postgres@127.0.0.1:5432/parley',
    protocols: ['postgres:', 'postgresql:'],
    description: 'Postgres 15+; the database is created if missing',
  }),
  dbPoolSize: int('DB_POOL_SIZE', {
    default: 20,
    min: 1,
    max: 500,
    description: 'Postgres connections per instance',
  }),
  migrateOnStart: bool('MIGRATE_ON_START', {
    default: true,
    description: 'run pending migrations at start (they take an advisory lock, so instances do not race)',
  }),
  rpcConcurrency: int('RPC_CONCURRENCY', {
    default: 64,
    min: 1,
    max: 10_000,
    description: 'RPC requests handled at once by this instance; beyond it, requests wait in the stream',
  }),
  messageBatchMax: int('MESSAGE_BATCH_MAX', {
    default: 64,
    min: 1,
    max: 1000,
    description: 'most sends committed in one transaction (group commit); 1 stores each message on its own',
  }),
  rpcClaimIdleMs: int('RPC_CLAIM_IDLE_MS', {
    default: 5000,
    min: 100,
    max: 600_000,
    description: 'a request unanswered this long by a silent instance is taken over by another',
  }),
};

export type ChatsConfig = ConfigOf<typeof chatsConfigSchema>;
export const CHATS_CONFIG = Symbol('CHATS_CONFIG');

export function loadChatsConfig(env: Env = process.env): ChatsConfig {
  return loadConfig(chatsConfigSchema, env);
}
