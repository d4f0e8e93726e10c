import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { custom, int, oneOf, optionalStr, optionalUrl, str } from './config-schema.js';

/** `redis+cluster://` (or `rediss+cluster://`), optional credentials, then host:port pairs separated by commas. */
const CLUSTER_URL =
  /^rediss?\+cluster:\/\/(?:[^@/\s]*@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):\d{1,5}(?:,(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):\d{1,5})*\/?$/;

function isRedisUrl(raw: string): boolean {
  try {
    return ['redis:', 'rediss:'].includes(new URL(raw).protocol);
  } catch {
    return false;
  }
}

/** Whether REDIS_URL names a Redis Cluster. */
export function isRedisClusterUrl(url: string): boolean {
  return CLUSTER_URL.test(url);
}

/** Variables both apps read. Each app spreads these into its own schema. */
export const commonConfigSchema = {
  nodeEnv: str('NODE_ENV', {
    default: 'development',
    pattern: /^[a-z]{1,32}$/,
    description:
      'production turns development conveniences into boot errors (gateway: placeholder secrets, AUTH_MODE)',
  }),
  redisUrl: custom('REDIS_URL', {
    default: 'redis://127.0.0.1:6379',
    expected: 'a redis:// or rediss:// URL, or redis+cluster://[user:password@]host:port[,host:port…]',
    parse: (raw) => (isRedisUrl(raw) || CLUSTER_URL.test(raw) ? raw : undefined),
    description:
      'Redis 7+ for RPC streams, Socket.IO pub/sub, presence and rate limits; redis+cluster:// (or rediss+cluster://) names a Redis Cluster by one or more of its nodes',
  }),
  redisPrefix: str('REDIS_PREFIX', {
    default: 'parley:',
    pattern: /^[A-Za-z0-9:_.-]{1,64}$/,
    description: 'prefix of every Redis key and channel of this deployment; give each test run its own',
  }),
  rpcStreamShards: int('RPC_STREAM_SHARDS', {
    min: 0,
    max: 256,
    default: 0,
    description:
      'request streams the chats RPC is spread over (gateways and chats services must agree); 0: 1 on a single Redis, 8 on a Redis Cluster, so RPC spreads over its masters',
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
  // OpenTelemetry: the SDK reads these (and its other OTEL_* variables) itself, before the app's config is loaded
  // (libs/observability/src/tracing.ts); they are here to be checked and documented with the others.
  otelExporterOtlpEndpoint: optionalUrl('OTEL_EXPORTER_OTLP_ENDPOINT', {
    protocols: ['http:', 'https:'],
    description:
      'turns tracing on: spans are exported over OTLP to <this>/v1/traces (docs/integrations.md, "Tracing"); unset: no tracing, nothing loaded',
  }),
  otelExporterOtlpTracesEndpoint: optionalUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', {
    protocols: ['http:', 'https:'],
    description: 'as OTEL_EXPORTER_OTLP_ENDPOINT, the traces URL as given',
  }),
  otelExporterOtlpProtocol: optionalStr('OTEL_EXPORTER_OTLP_PROTOCOL', {
    description: 'http/protobuf (the SDK’s default), http/json or grpc',
  }),
  otelServiceName: optionalStr('OTEL_SERVICE_NAME', {
    description: 'the traces’ service.name (default parley-gateway / parley-chats)',
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

/** The number of RPC request streams: RPC_STREAM_SHARDS, or by default 1 on a single Redis and 8 on a cluster. */
export function rpcStreamShards(config: { redisUrl: string; rpcStreamShards: number }): number {
  return config.rpcStreamShards || (isRedisClusterUrl(config.redisUrl) ? 8 : 1);
}
