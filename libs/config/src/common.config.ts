import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { int, oneOf, optionalStr, str, url } from './config-schema.js';

/** Variables both apps read. Each app spreads these into its own schema. */
export const commonConfigSchema = {
  nodeEnv: str('NODE_ENV', {
    default: 'development',
    pattern: /^[a-z]{1,32}$/,
    description:
      'production turns development conveniences into boot errors (gateway: placeholder secrets, AUTH_MODE)',
  }),
  redisUrl: url('REDIS_URL', {
    default: 'redis://127.0.0.1:6379',
    protocols: ['redis:', 'rediss:'],
    description: 'Redis 7+ for RPC streams, Socket.IO pub/sub, presence and rate limits',
  }),
  redisPrefix: str('REDIS_PREFIX', {
    default: 'parley:',
    pattern: /^[A-Za-z0-9:_.-]{1,64}$/,
    description: 'prefix of every Redis key and channel of this deployment; give each test run its own',
  }),
  rpcTransport: oneOf('RPC_TRANSPORT', ['redis-streams', 'redis-pubsub'], {
    default: 'redis-streams',
    description:
      "redis-pubsub is NestJS's built-in Redis transport, kept to benchmark the seed's design: every chats instance gets every request, so run exactly one",
  }),
  logLevel: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace'], {
    default: 'info',
    description: 'lowest log level written',
  }),
  instanceId: optionalStr('INSTANCE_ID', {
    description:
      'name of this instance in logs, metrics and Redis consumer groups (default: hostname-pid-random)',
  }),
  shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', {
    default: 20_000,
    min: 0,
    max: 300_000,
    description: 'how long a SIGTERM drain may take before the process exits anyway',
  }),
};

/** A name unique to this process, stable for its lifetime. */
export function defaultInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** ioredis connection options from a redis:// or rediss:// URL (for clients that take options, not URLs). */
export function redisOptionsFromUrl(url: string): {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
} {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
