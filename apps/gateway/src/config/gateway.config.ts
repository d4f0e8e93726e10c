import { isP256PublicKey } from '@parley/contracts';
import {
  bool,
  ConfigError,
  commonConfigSchema,
  custom,
  int,
  loadConfig,
  oneOf,
  optionalStr,
  str,
  type ConfigField,
  type ConfigOf,
  type Env,
} from '@parley/config';
import { parseTrustProxy, type TrustProxy } from '../common/client-address.js';
import { COMPAT_PROFILES, type CompatProfile } from '../compat/profile-names.js';

/** The development default. The gateway logs a loud warning whenever it is in use, and refuses it in production. */
export const DEV_JWT_SECRET = 'parley-dev-secret-change-me-in-production';

/**
 * Secrets the project itself ships as placeholders (docker-compose.yml, deploy/k8s/base/secret.yaml): with
 * NODE_ENV=production the gateway refuses to boot on any of them. test/deploy checks the files still use these.
 */
export const PLACEHOLDER_JWT_SECRETS = [
  DEV_JWT_SECRET,
  'compose-dev-jwt-secret-NOT-FOR-PRODUCTION',
  'REPLACE-ME-with-a-long-random-secret',
];

/** Bytes of entropy a production HS256 secret must at least have (RFC 7518 §3.2: a key as long as the hash). */
export const PRODUCTION_SECRET_MIN_BYTES = 32;

/** `RATE_LIMIT_<NAME>_PER_SECOND` and `RATE_LIMIT_<NAME>_BURST` for one per-user limit. */
function perUserLimit<K extends string>(
  key: K,
  name: string,
  what: string,
  defaults: { perSecond: number; burst: number },
): Record<`${K}PerSecond` | `${K}Burst`, ConfigField<number>> {
  return {
    [`${key}PerSecond`]: int(`RATE_LIMIT_${name}_PER_SECOND`, {
      default: defaults.perSecond,
      min: 1,
      max: 100_000,
      description: `sustained ${what} per second per user, across all instances and REST`,
    }),
    [`${key}Burst`]: int(`RATE_LIMIT_${name}_BURST`, {
      default: defaults.burst,
      min: 1,
      max: 100_000,
      description: `${what} a user may make within one second before the per-second rate applies`,
    }),
  } as Record<`${K}PerSecond` | `${K}Burst`, ConfigField<number>>;
}

export const gatewayConfigSchema = {
  ...commonConfigSchema,
  port: int('PORT', { default: 3001, min: 1, max: 65535, description: 'HTTP and Socket.IO port' }),

  // ---- tokens and sessions -----------------------------------------------------------------------------------
  jwtSecret: str('JWT_SECRET', {
    default: DEV_JWT_SECRET,
    minLength: 16,
    description: `HS256 secret that signs and verifies tokens (production: at least ${PRODUCTION_SECRET_MIN_BYTES} bytes)`,
  }),
  jwtSecretPrevious: optionalStr('JWT_SECRET_PREVIOUS', {
    description:
      'the HS256 secret before the last rotation: still verifies tokens, never signs (docs/security.md)',
  }),
  jwtPublicKey: optionalStr('JWT_PUBLIC_KEY', {
    description:
      'RS256 public key (PEM): when set, tokens are verified with it instead of JWT_SECRET (needs JWT_ISSUER and JWT_AUDIENCE)',
  }),
  jwtPublicKeyPrevious: optionalStr('JWT_PUBLIC_KEY_PREVIOUS', {
    description: 'the RS256 public key before the last rotation: still verifies tokens',
  }),
  jwtPrivateKey: optionalStr('JWT_PRIVATE_KEY', {
    description: 'RS256 private key (PEM) to issue tokens with; without it, RS256 deployments only verify',
  }),
  jwtIssuer: optionalStr('JWT_ISSUER', { description: 'when set, the iss claim issued and required' }),
  jwtAudience: optionalStr('JWT_AUDIENCE', { description: 'when set, the aud claim issued and required' }),
  jwtClockToleranceSeconds: int('JWT_CLOCK_TOLERANCE_SECONDS', {
    default: 5,
    min: 0,
    max: 300,
    description: 'clock skew allowed when checking exp and nbf',
  }),
  accessTtlSeconds: int('JWT_ACCESS_TTL_SECONDS', {
    default: 900,
    min: 30,
    max: 86_400,
    description: 'lifetime of access tokens (and of a socket that does not authenticate again)',
  }),
  refreshTtlSeconds: int('JWT_REFRESH_TTL_SECONDS', {
    default: 30 * 86_400,
    min: 60,
    max: 365 * 86_400,
    description: 'lifetime of refresh tokens (each refresh starts it again)',
  }),
  refreshReuseGraceSeconds: int('JWT_REFRESH_REUSE_GRACE_SECONDS', {
    default: 10,
    min: 0,
    max: 300,
    description:
      'a refresh token used again this soon after its rotation gets the current one (two tabs), instead of ending the session',
  }),
  authMode: oneOf('AUTH_MODE', ['jwt', 'insecure-user-id'], {
    default: 'jwt',
    description: 'insecure-user-id trusts ?userId= on Socket.IO without a token: development only',
  }),
  sessionSyncMs: int('SESSION_SYNC_MS', {
    default: 1000,
    min: 100,
    max: 4000,
    description:
      'how often a gateway reads the sessions ended on other instances (their sockets close within it)',
  }),

  // ---- client addresses and auth throttling ------------------------------------------------------------------
  trustProxy: custom<TrustProxy>('TRUST_PROXY', {
    default: false,
    expected:
      'false, true, a hop count, or a comma-separated list of addresses, CIDRs, loopback, uniquelocal',
    parse: parseTrustProxy,
    description:
      'whether X-Forwarded-For names the client (auth throttling, connection caps): false, a hop count, or the proxies',
  }),
  authPerIpPerMinute: int('RATE_LIMIT_AUTH_PER_IP_PER_MINUTE', {
    default: 60,
    min: 1,
    max: 1_000_000,
    description: 'register, login, refresh and logout requests per client address per minute',
  }),
  loginFailuresPerUsername: int('RATE_LIMIT_LOGIN_FAILURES_PER_USERNAME', {
    default: 10,
    min: 1,
    max: 100_000,
    description: 'failed logins per username within the window before its logins are refused',
  }),
  loginFailuresWindowSeconds: int('RATE_LIMIT_LOGIN_FAILURES_WINDOW_SECONDS', {
    default: 900,
    min: 1,
    max: 86_400,
    description: 'the window of RATE_LIMIT_LOGIN_FAILURES_PER_USERNAME',
  }),

  // ---- per-user rate limits ----------------------------------------------------------------------------------
  ...perUserLimit('rateLimitMessages', 'MESSAGES', 'messages', { perSecond: 20, burst: 40 }),
  ...perUserLimit('rateLimitTyping', 'TYPING', 'typing events', { perSecond: 2, burst: 5 }),
  ...perUserLimit('rateLimitJoins', 'JOINS', 'join-conversation events', { perSecond: 5, burst: 50 }),
  ...perUserLimit('rateLimitLeaves', 'LEAVES', 'leave-conversation events', { perSecond: 10, burst: 50 }),
  ...perUserLimit('rateLimitReadMarks', 'READ_MARKS', 'mark-read events and /read calls', {
    perSecond: 5,
    burst: 20,
  }),
  ...perUserLimit('rateLimitAuthenticate', 'AUTHENTICATE', 'authenticate events', {
    perSecond: 1,
    burst: 10,
  }),
  ...perUserLimit('rateLimitHistory', 'HISTORY', 'history and conversation reads', {
    perSecond: 10,
    burst: 50,
  }),
  ...perUserLimit('rateLimitLookups', 'LOOKUPS', 'user lookups', { perSecond: 5, burst: 30 }),
  rateLimitConversationsPerMinute: int('RATE_LIMIT_CONVERSATIONS_PER_MINUTE', {
    default: 20,
    min: 1,
    max: 100_000,
    description: 'conversations (direct or groups) a user may start per minute',
  }),
  ...perUserLimit('rateLimitGroupChanges', 'GROUP_CHANGES', 'member adds, removals, role and group edits', {
    perSecond: 5,
    burst: 20,
  }),
  ...perUserLimit('rateLimitSettings', 'SETTINGS', 'mutes, unmutes, blocks and unblocks', {
    perSecond: 5,
    burst: 20,
  }),
  ...perUserLimit('rateLimitMessageChanges', 'MESSAGE_CHANGES', 'edits, deletions and reactions', {
    perSecond: 10,
    burst: 40,
  }),
  broadcastMode: oneOf('BROADCAST_MODE', ['direct', 'rooms'], {
    default: 'direct',
    description:
      'direct: a 1:1 message is one packet per member that each gateway expands; rooms: one adapter broadcast per event, what releases before 2026-12-02 understand (use it while rolling from one)',
  }),
  conversationUpdateCoalesceMs: int('CONVERSATION_UPDATE_COALESCE_MS', {
    default: 1000,
    min: 10,
    max: 60_000,
    description:
      "a group's members get at most one conversation-updated round per this interval (the first at once)",
  }),

  // ---- admission control and connections ---------------------------------------------------------------------
  rpcTimeoutMs: int('RPC_TIMEOUT_MS', {
    default: 10_000,
    min: 100,
    max: 120_000,
    description: 'how long a request waits for the chats service (its deadline there too)',
  }),
  rpcMaxInFlight: int('RPC_MAX_IN_FLIGHT', {
    default: 1000,
    min: 1,
    max: 1_000_000,
    description: 'requests this gateway may have waiting for the chats service; beyond, Service busy at once',
  }),
  socketMaxInFlight: int('SOCKET_MAX_IN_FLIGHT', {
    default: 16,
    min: 1,
    max: 10_000,
    description: 'events of one socket handled at once; beyond, Service busy at once',
  }),
  socketMaxPerUser: int('SOCKET_MAX_PER_USER', {
    default: 20,
    min: 1,
    max: 100_000,
    description: 'open sockets per user, across all instances; beyond, the handshake is refused',
  }),
  socketMaxPerAddress: int('SOCKET_MAX_PER_ADDRESS', {
    default: 200,
    min: 1,
    max: 1_000_000,
    description: 'open connections per client address on this instance; beyond, the handshake is refused',
  }),
  messageMaxLength: int('MESSAGE_MAX_LENGTH', {
    default: 4000,
    min: 1,
    max: 100_000,
    description:
      'longest message content, in characters (the largest Socket.IO frame accepted follows from it)',
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

  // ---- the other seeds' plain-WebSocket clients (docs/compat.md) ---------------------------------------------
  adminToken: optionalStr('ADMIN_TOKEN', {
    description:
      'the bearer token of the admin API (/api/admin: roles and mentor assignments, seed 001); unset: the admin API refuses everyone',
  }),
  compatProfiles: custom<CompatProfile[]>('COMPAT_PROFILES', {
    default: [...COMPAT_PROFILES],
    expected: `a comma-separated list of ${COMPAT_PROFILES.join(', ')}, or none`,
    parse: (raw) => {
      if (raw.trim() === 'none') return [];
      const list = raw.split(',').map((p) => p.trim());
      return list.every((p) => (COMPAT_PROFILES as readonly string[]).includes(p))
        ? [...new Set(list as CompatProfile[])]
        : undefined;
    },
    description:
      'the seeds whose clients are served, each under /compat/<seed>/ (none: no plain-WebSocket edge)',
  }),
  compatBarePaths: oneOf('COMPAT_BARE_PATHS', ['none', ...COMPAT_PROFILES], {
    default: 'none',
    description:
      "the seed whose clients also reach it at the seed's own paths (/ws/chat/…): they clash between seeds, so one at most",
  }),
  compatMaxBufferedBytes: int('COMPAT_MAX_BUFFERED_BYTES', {
    default: 4 * 1024 * 1024,
    min: 64 * 1024,
    max: 1024 * 1024 * 1024,
    description:
      'a plain-WebSocket client with more than this waiting to be written (it stopped reading) is dropped',
  }),
  vapidPublicKey: custom<string | undefined>('VAPID_PUBLIC_KEY', {
    expected: 'a base64url-encoded uncompressed P-256 public key (npx web-push generate-vapid-keys)',
    parse: (raw) => (isP256PublicKey(raw) ? raw : undefined),
    optional: true,
    description:
      "Web Push: the VAPID public key, the chats service's (unset: /api/push answers 404 Push notifications are not enabled)",
  }),
  pushAllowPrivateEndpoints: bool('PUSH_ALLOW_PRIVATE_ENDPOINTS', {
    default: false,
    description:
      'accept http and loopback/private push subscription endpoints (tests, closed networks); off: https to public hosts only (SSRF)',
  }),
  corsOrigins: str('CORS_ORIGINS', {
    default: '*',
    description: 'comma-separated origins allowed by CORS (REST and Socket.IO), or *',
  }),
};

export type GatewayConfig = ConfigOf<typeof gatewayConfigSchema>;
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  const config = loadConfig(gatewayConfigSchema, env);
  const problems = [...tokenProblems(config), ...productionProblems(config)];
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Token settings that only make sense together. */
function tokenProblems(config: GatewayConfig): string[] {
  if (!config.jwtPublicKey) return [];
  // Any holder of a key pair can mint RS256 tokens that verify with a public key they were not meant for: pin
  // who issued them and for whom.
  return ['JWT_ISSUER', 'JWT_AUDIENCE']
    .filter((name) => !(name === 'JWT_ISSUER' ? config.jwtIssuer : config.jwtAudience))
    .map(
      (name) =>
        `${name} is required when JWT_PUBLIC_KEY is set (tokens must name who issued them and for whom)`,
    );
}

/** With NODE_ENV=production, the development conveniences that would let anyone in refuse to boot. */
function productionProblems(config: GatewayConfig): string[] {
  const problems: string[] = [];
  if (config.adminToken !== undefined && Buffer.byteLength(config.adminToken) < PRODUCTION_SECRET_MIN_BYTES) {
    problems.push(`ADMIN_TOKEN must be at least ${PRODUCTION_SECRET_MIN_BYTES} bytes`);
  }
  if (config.nodeEnv !== 'production') return problems;
  if (config.authMode === 'insecure-user-id') {
    problems.push('AUTH_MODE=insecure-user-id is refused with NODE_ENV=production: anyone could be anyone');
  }
  if (!config.jwtPublicKey) {
    for (const [name, secret] of [
      ['JWT_SECRET', config.jwtSecret],
      ['JWT_SECRET_PREVIOUS', config.jwtSecretPrevious],
    ] as const) {
      if (secret === undefined) continue;
      if (PLACEHOLDER_JWT_SECRETS.includes(secret)) {
        problems.push(
          `${name} is a placeholder shipped with Parley; set a random secret (openssl rand -hex 32)`,
        );
      } else if (Buffer.byteLength(secret) < PRODUCTION_SECRET_MIN_BYTES) {
        problems.push(
          `${name} must be at least ${PRODUCTION_SECRET_MIN_BYTES} bytes with NODE_ENV=production`,
        );
      }
    }
  }
  return problems;
}
