import {
  commonConfigSchema,
  int,
  loadConfig,
  oneOf,
  optionalStr,
  str,
  type ConfigOf,
  type Env,
} from '@parley/config';

/** The development default. The gateway logs a loud warning whenever it is in use. */
export const DEV_JWT_SECRET = 'parley-dev-secret-change-me-in-production';

export const gatewayConfigSchema = {
  ...commonConfigSchema,
  port: int('PORT', { default: 3001, min: 1, max: 65535, description: 'HTTP and Socket.IO port' }),
  jwtSecret: str('JWT_SECRET', {
    default: DEV_JWT_SECRET,
    minLength: 16,
    description: 'HS256 secret that signs and verifies tokens (at least 16 characters)',
  }),
  jwtPublicKey: optionalStr('JWT_PUBLIC_KEY', {
    description: 'RS256 public key (PEM): when set, tokens are verified with it instead of JWT_SECRET',
  }),
  jwtPrivateKey: optionalStr('JWT_PRIVATE_KEY', {
    description: 'RS256 private key (PEM) to issue tokens with; without it, RS256 deployments only verify',
  }),
  jwtIssuer: optionalStr('JWT_ISSUER', { description: 'when set, the iss claim issued and required' }),
  jwtAudience: optionalStr('JWT_AUDIENCE', { description: 'when set, the aud claim issued and required' }),
  accessTtlSeconds: int('JWT_ACCESS_TTL_SECONDS', {
    default: 900,
    min: 30,
    max: 86_400,
    description: 'lifetime of access tokens',
  }),
  refreshTtlSeconds: int('JWT_REFRESH_TTL_SECONDS', {
    default: 30 * 86_400,
    min: 60,
    max: 365 * 86_400,
    description: 'lifetime of refresh tokens',
  }),
  authMode: oneOf('AUTH_MODE', ['jwt', 'insecure-user-id'], {
    default: 'jwt',
    description: 'insecure-user-id trusts ?userId= on Socket.IO without a token: development only',
  }),
  rpcTimeoutMs: int('RPC_TIMEOUT_MS', {
    default: 10_000,
    min: 100,
    max: 120_000,
    description: 'how long a request waits for the chats service',
  }),
  messageMaxLength: int('MESSAGE_MAX_LENGTH', {
    default: 4000,
    min: 1,
    max: 100_000,
    description: 'longest message content, in characters',
  }),
  rateLimitMessagesPerSecond: int('RATE_LIMIT_MESSAGES_PER_SECOND', {
    default: 20,
    min: 1,
    max: 100_000,
    description: 'sustained messages per second per user, across all instances and REST',
  }),
  rateLimitMessagesBurst: int('RATE_LIMIT_MESSAGES_BURST', {
    default: 40,
    min: 1,
    max: 100_000,
    description: 'messages a user may send at once before the per-second rate applies',
  }),
  rateLimitTypingPerSecond: int('RATE_LIMIT_TYPING_PER_SECOND', {
    default: 2,
    min: 1,
    max: 10_000,
    description: 'sustained typing events per second per user',
  }),
  rateLimitTypingBurst: int('RATE_LIMIT_TYPING_BURST', {
    default: 5,
    min: 1,
    max: 10_000,
    description: 'typing events a user may send at once',
  }),
  presenceHeartbeatMs: int('PRESENCE_HEARTBEAT_MS', {
    default: 5000,
    min: 100,
    max: 60_000,
    description: 'how often a gateway renews its presence heartbeat and sweeps dead gateways',
  }),
  presenceInstanceTtlMs: int('PRESENCE_INSTANCE_TTL_MS', {
    default: 20_000,
    min: 500,
    max: 300_000,
    description: 'a gateway silent this long is dead: the others mark its users offline',
  }),
  socketMaxBufferedPackets: int('SOCKET_MAX_BUFFERED_PACKETS', {
    default: 1000,
    min: 10,
    max: 1_000_000,
    description:
      'a socket with more packets than this waiting to be written (a client that stopped reading) is dropped',
  }),
  corsOrigins: str('CORS_ORIGINS', {
    default: '*',
    description: 'comma-separated origins allowed by CORS (REST and Socket.IO), or *',
  }),
};

export type GatewayConfig = ConfigOf<typeof gatewayConfigSchema>;
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  return loadConfig(gatewayConfigSchema, env);
}
