import { decodeBase64Url, isP256PublicKey, Limits, PushLimits } from '@parley/contracts';
import {
  bool,
  commonConfigSchema,
  ConfigError,
  custom,
  int,
  loadConfig,
  oneOf,
  optionalUrl,
  url,
  type ConfigOf,
  type Env,
} from '@parley/config';

export const chatsConfigSchema = {
  ...commonConfigSchema,
  port: int('PORT', { default: 3101, min: 1, max: 65535, description: 'HTTP port of /health and /metrics' }),
  databaseUrl: url('DATABASE_URL', {
    default: 'postgres://postgres@127.0.0.1:5432/parley',
    protocols: ['postgres:', 'postgresql:'],
    description: 'Postgres 15+; the database is created if missing',
  }),
  databasePooler: oneOf('DATABASE_POOLER', ['none', 'pgbouncer'], {
    default: 'none',
    description:
      'pgbouncer: DATABASE_URL is a PgBouncer in transaction pooling mode (no named prepared statements; statement_timeout set on the role, see docs/deploy.md)',
  }),
  databaseReadUrl: optionalUrl('DATABASE_READ_URL', {
    protocols: ['postgres:', 'postgresql:'],
    description:
      'a streaming replica for history pages and conversation lists, used only when it has replayed all the primary had committed (unset: every read on DATABASE_URL)',
  }),
  dbReplicaWaitMs: int('DB_REPLICA_WAIT_MS', {
    default: 20,
    min: 0,
    max: 10_000,
    description:
      'how long a replica-eligible read waits for the replica to catch up before it reads the primary',
  }),
  dbPoolSize: int('DB_POOL_SIZE', {
    default: 20,
    min: 1,
    max: 500,
    description: 'Postgres connections per instance (and as many to DATABASE_READ_URL)',
  }),
  dbStatementTimeoutMs: int('DB_STATEMENT_TIMEOUT_MS', {
    default: 5000,
    min: 100,
    max: 600_000,
    description: 'Postgres cancels a statement that runs longer (statement_timeout); migrations are exempt',
  }),
  dbIdleTimeoutMs: int('DB_IDLE_TIMEOUT_MS', {
    default: 300_000,
    min: 1000,
    max: 86_400_000,
    description:
      'a pooled connection idle this long is closed (pg-pool closes them after 10 s by default: a new backend under load is a stall)',
  }),
  dbAcquireTimeoutMs: int('DB_ACQUIRE_TIMEOUT_MS', {
    default: 2000,
    min: 10,
    max: 60_000,
    description: 'how long a request waits for a free pooled connection before it fails (503)',
  }),
  migrateOnStart: bool('MIGRATE_ON_START', {
    default: true,
    description:
      'run pending migrations at start (in one transaction under an advisory lock, so instances do not race, through PgBouncer too)',
  }),
  rpcConcurrency: int('RPC_CONCURRENCY', {
    default: 64,
    min: 1,
    max: 10_000,
    description: 'RPC requests handled at once by this instance; beyond it, requests wait in the stream',
  }),
  rpcMaxQueueMs: int('RPC_MAX_QUEUE_MS', {
    default: 1000,
    min: 1,
    max: 120_000,
    description: 'a request that waited longer in the stream is answered Service busy without any work',
  }),
  rpcMaxQueueMsReads: int('RPC_MAX_QUEUE_MS_READS', {
    default: 250,
    min: 1,
    max: 120_000,
    description: 'the same for reads (history, lists, lookups), so that reads are shed before sends',
  }),
  rpcHandlerTimeoutMs: int('RPC_HANDLER_TIMEOUT_MS', {
    default: 8000,
    min: 100,
    max: 120_000,
    description:
      "a handler still running after this (or after its caller's deadline) is answered with an error",
  }),
  rpcMaxDeliveries: int('RPC_MAX_DELIVERIES', {
    default: 3,
    min: 1,
    max: 100,
    description:
      'a request delivered this many times (its consumers died on it) goes to the dead-letter stream',
  }),
  passwordHashConcurrency: int('PASSWORD_HASH_CONCURRENCY', {
    default: 2,
    min: 1,
    max: 64,
    description: 'argon2 hashes and verifications run at once by this instance',
  }),
  passwordHashQueue: int('PASSWORD_HASH_QUEUE', {
    default: 32,
    min: 0,
    max: 10_000,
    description: 'hashes that may wait for a slot; beyond, logins and registrations get Service busy',
  }),
  sessionRetentionSeconds: int('SESSION_RETENTION_SECONDS', {
    default: 86_400,
    min: 0,
    max: 365 * 86_400,
    description:
      'ended and expired sessions are kept this long, then purged (keep it above JWT_ACCESS_TTL_SECONDS)',
  }),
  sessionPurgeIntervalMs: int('SESSION_PURGE_INTERVAL_MS', {
    default: 3_600_000,
    min: 100,
    max: 86_400_000,
    description: 'how often an instance purges ended and expired sessions',
  }),
  messageBatchMax: int('MESSAGE_BATCH_MAX', {
    default: 64,
    min: 1,
    max: 1000,
    description: 'most sends committed in one transaction (group commit); 1 stores each message on its own',
  }),
  groupMaxMembers: int('GROUP_MAX_MEMBERS', {
    default: 1000,
    min: 2,
    max: Limits.groupMembersMax,
    description: 'most members of a group, its owner included',
  }),
  groupFanoutMax: int('GROUP_FANOUT_MAX', {
    default: 100,
    min: 2,
    max: Limits.groupMembersMax,
    description:
      "groups up to this many members move every member's list row on each message (fan-out on write); larger groups' lists read the conversation's own activity",
  }),
  presenceGroupMax: int('PRESENCE_GROUP_MAX', {
    default: 100,
    min: 0,
    max: Limits.groupMembersMax,
    description: 'presence is shared within groups of at most this many members (and direct conversations)',
  }),
  vapidPublicKey: custom<string | undefined>('VAPID_PUBLIC_KEY', {
    expected: 'a base64url-encoded uncompressed P-256 public key (npx web-push generate-vapid-keys)',
    parse: (raw) => (isP256PublicKey(raw) ? raw : undefined),
    optional: true,
    description:
      'Web Push: the VAPID public key (unset: no push notifications, and no push work per message)',
  }),
  vapidPrivateKey: custom<string | undefined>('VAPID_PRIVATE_KEY', {
    expected: 'a base64url-encoded 32-byte P-256 private key',
    parse: (raw) => (decodeBase64Url(raw)?.length === 32 ? raw : undefined),
    optional: true,
    description: 'Web Push: the VAPID private key that signs the push services’ JWTs',
  }),
  vapidSubject: custom<string | undefined>('VAPID_SUBJECT', {
    expected: 'a mailto: or https: URL',
    parse: (raw) => (/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(raw) ? raw : undefined),
    optional: true,
    description: 'Web Push: who the push services can contact about this sender (the JWT’s sub)',
  }),
  pushCollapseMs: int('PUSH_COLLAPSE_MS', {
    default: 10_000,
    min: 0,
    max: 86_400_000,
    description:
      'at most one push per user and conversation within this window (across instances); 0: one per message',
  }),
  pushPayloadMaxBytes: int('PUSH_PAYLOAD_MAX_BYTES', {
    default: 2048,
    min: 256,
    max: 3993,
    description:
      'largest JSON payload of a notification before encryption; the preview is cut to fit (RFC 8291 allows 3993)',
  }),
  pushMaxSubscriptionsPerUser: int('PUSH_MAX_SUBSCRIPTIONS_PER_USER', {
    default: 10,
    min: 1,
    max: PushLimits.subscriptionsPerUserMax,
    description: 'push subscriptions (devices) per user; another registration is refused (400)',
  }),
  pushTimeoutMs: int('PUSH_TIMEOUT_MS', {
    default: 5000,
    min: 100,
    max: 60_000,
    description: 'a POST to a push service that has not answered after this is abandoned (outcome error)',
  }),
  pushTtlSeconds: int('PUSH_TTL_SECONDS', {
    default: 86_400,
    min: 0,
    max: 2_419_200,
    description: 'how long a push service keeps an undelivered notification (TTL header)',
  }),
  pushConcurrency: int('PUSH_CONCURRENCY', {
    default: 16,
    min: 1,
    max: 1000,
    description: 'POSTs to push services in flight at once per instance',
  }),
  pushQueueMax: int('PUSH_QUEUE_MAX', {
    default: 1000,
    min: 0,
    max: 1_000_000,
    description:
      'notifications waiting for a slot per instance; beyond, new ones are dropped (outcome dropped), sends never wait',
  }),
  pushAllowPrivateEndpoints: bool('PUSH_ALLOW_PRIVATE_ENDPOINTS', {
    default: false,
    description:
      'accept and POST to http and loopback/private push endpoints (tests, closed networks); off: https to public addresses only (SSRF)',
  }),
  rpcClaimIdleMs: int('RPC_CLAIM_IDLE_MS', {
    default: 5000,
    min: 100,
    max: 600_000,
    description: 'a request unanswered this long by a silent instance is taken over by another',
  }),
  webhookDelivery: bool('WEBHOOK_DELIVERY', {
    default: true,
    description:
      'this instance delivers webhook events (any number of instances share the work; events are recorded whatever this says)',
  }),
  webhookTimeoutMs: int('WEBHOOK_TIMEOUT_MS', {
    default: 5000,
    min: 100,
    max: 60_000,
    description: 'an endpoint that has not answered a webhook request this long has failed the attempt',
  }),
  webhookRetryForMs: int('WEBHOOK_RETRY_FOR_MS', {
    default: 86_400_000,
    min: 0,
    max: 7 * 86_400_000,
    description: 'how long a webhook event is retried (from its first attempt) before it is dead-lettered',
  }),
  webhookRetryBaseMs: int('WEBHOOK_RETRY_BASE_MS', {
    default: 1000,
    min: 10,
    max: 3_600_000,
    description: 'the first retry waits about this long; each next one twice as long (with jitter)',
  }),
  webhookRetryMaxMs: int('WEBHOOK_RETRY_MAX_MS', {
    default: 600_000,
    min: 10,
    max: 86_400_000,
    description: 'the longest wait between two attempts of a webhook event',
  }),
  webhookConcurrency: int('WEBHOOK_CONCURRENCY', {
    default: 32,
    min: 1,
    max: 1000,
    description: 'webhook requests in flight per instance',
  }),
  webhookEndpointConcurrency: int('WEBHOOK_ENDPOINT_CONCURRENCY', {
    default: 8,
    min: 1,
    max: 1000,
    description:
      'webhook requests in flight per instance to one endpoint (a slow endpoint holds no more than these)',
  }),
  webhookPollMs: int('WEBHOOK_POLL_MS', {
    default: 250,
    min: 10,
    max: 60_000,
    description: 'how often an idle instance looks for due webhook deliveries',
  }),
  webhookRetentionMs: int('WEBHOOK_RETENTION_MS', {
    default: 3_600_000,
    min: 0,
    max: 30 * 86_400_000,
    description:
      'delivered webhook events are kept this long (dead-lettered ones until replayed or their endpoint is deleted)',
  }),
};

export type ChatsConfig = ConfigOf<typeof chatsConfigSchema>;
export const CHATS_CONFIG = Symbol('CHATS_CONFIG');

export function loadChatsConfig(env: Env = process.env): ChatsConfig {
  const config = loadConfig(chatsConfigSchema, env);
  const problems = pushProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Web Push is on with all three VAPID settings, off with none; anything between is a mistake. */
function pushProblems(config: ChatsConfig): string[] {
  const set = [config.vapidPublicKey, config.vapidPrivateKey, config.vapidSubject].filter(
    (v) => v !== undefined,
  ).length;
  if (set === 0 || set === 3) return [];
  return [
    'VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT are set together (Web Push on) or not at all (off)',
  ];
}

/** Whether Web Push is configured (all three VAPID settings). */
export function pushEnabled(config: ChatsConfig): boolean {
  return config.vapidPrivateKey !== undefined;
}
