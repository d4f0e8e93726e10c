import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ErrorMessages, type Id } from '@parley/contracts';
import type { Socket } from 'socket.io';
import { SessionRevocations } from '../auth/session-revocations.service.js';
import { TokenService, type AccessClaims } from '../auth/token.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { PresenceService } from '../presence/presence.service.js';
import { RealtimeMetrics } from './realtime.metrics.js';

export interface SocketData {
  userId: Id;
  /** The session of the socket's token (none for an identity provider's tokens). */
  sessionId?: string;
  /** When the socket's token expires (ms since the epoch); none only with AUTH_MODE=insecure-user-id. */
  expiresAt?: number;
  /** Events of this socket being handled now (SocketAdmissionInterceptor). */
  inFlight?: number;
}

/** Claims of a `?token=` or `Authorization` token already verified by `allowRequest`, kept on the request. */
const VERIFIED = Symbol('parley.verifiedHandshake');
type VerifiedRequest = IncomingMessage & { [VERIFIED]?: AccessClaims };

/**
 * Authenticates Socket.IO connections, in two steps (Nest guards do not run on connection, nestjs/nest#882):
 *
 * - `allowRequest`, on the Engine.IO handshake request, before any socket exists: a token in the query string or
 *   the `Authorization` header is verified here, and a bad one refused at once.
 * - the `/chat` namespace middleware, on the CONNECT packet: the token comes from `auth.token`, else the one
 *   verified above; a `userId` query parameter (seed 003) must match it; the session must not have ended; the user
 *   must have fewer than SOCKET_MAX_PER_USER sockets open anywhere. Refusals reach the client as `connect_error`.
 */
@Injectable()
export class SocketAuth {
  private readonly insecure: boolean;

  constructor(
    private readonly tokens: TokenService,
    private readonly revocations: SessionRevocations,
    private readonly presence: PresenceService,
    private readonly metrics: RealtimeMetrics,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.insecure = config.authMode === 'insecure-user-id';
    if (this.insecure) {
      new Logger('Auth').warn(
        '!!! AUTH_MODE=insecure-user-id: Socket.IO trusts ?userId= without a token. Anyone can be anyone. Development only. !!!',
      );
    }
  }

  /** For Engine.IO's `allowRequest`: undefined to let the handshake through, else the refusal. */
  checkHandshakeRequest(req: IncomingMessage): string | undefined {
    const token = queryOrHeaderToken(req);
    if (!token) return undefined; // auth.token comes with the CONNECT packet, checked by the middleware
    const claims = this.verify(token);
    if (!claims) {
      this.metrics.connections.inc({ outcome: 'unauthorized' });
      return ErrorMessages.unauthorized;
    }
    (req as VerifiedRequest)[VERIFIED] = claims;
    return undefined;
  }

  /** The `/chat` namespace middleware. */
  middleware() {
    return (socket: Socket, next: (err?: Error) => void): void => {
      this.authenticate(socket).then(
        () => {
          this.metrics.connections.inc({ outcome: 'accepted' });
          next();
        },
        (err: Error) => {
          this.metrics.connections.inc({
            outcome: err.message === ErrorMessages.tooManyConnections ? 'too_many' : 'unauthorized',
          });
          next(err);
        },
      );
    };
  }

  private async authenticate(socket: Socket): Promise<void> {
    const { auth, query } = socket.handshake;
    const authToken = (auth as { token?: unknown } | undefined)?.token;
    const claimed = query.userId === undefined ? undefined : parseId(query.userId);
    let claims: AccessClaims | undefined;
    if (typeof authToken === 'string' && authToken.length > 0) {
      claims = this.verify(authToken);
      if (!claims) throw new Error(ErrorMessages.unauthorized);
    } else {
      claims = (socket.request as VerifiedRequest)[VERIFIED];
      if (!claims && this.insecure && claimed !== undefined)
        claims = { userId: claimed, expiresAt: Infinity };
    }
    if (!claims || (query.userId !== undefined && claimed !== claims.userId)) {
      throw new Error(ErrorMessages.unauthorized);
    }
    if ((await this.presence.socketCount(claims.userId)) >= this.config.socketMaxPerUser) {
      throw new Error(ErrorMessages.tooManyConnections);
    }
    // Checked after the await too: the session may have ended meanwhile.
    if (this.revocations.isEnded(claims.sessionId)) throw new Error(ErrorMessages.unauthorized);
    const data = socket.data as SocketData;
    data.userId = claims.userId;
    if (claims.sessionId !== undefined) data.sessionId = claims.sessionId;
    if (Number.isFinite(claims.expiresAt)) data.expiresAt = claims.expiresAt;
  }

  /** The claims of a valid access token of a live session, else undefined. */
  verify(token: string): AccessClaims | undefined {
    try {
      const claims = this.tokens.verifyAccess(token);
      return this.revocations.isEnded(claims.sessionId) ? undefined : claims;
    } catch {
      return undefined;
    }
  }
}

/** `?token=` (seeds 002, 004), else `Authorization: Bearer`. */
function queryOrHeaderToken(req: IncomingMessage): string | undefined {
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
  if (query) return query;
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

function parseId(value: unknown): Id | undefined {
  const s = Array.isArray(value) ? undefined : String(value);
  return s && /^[1-9]\d{0,15}$/.test(s) && Number.isSafeInteger(Number(s)) ? Number(s) : undefined;
}
