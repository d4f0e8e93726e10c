import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, NotImplementedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { ErrorMessages, type Id } from '@parley/contracts';
import { AppErrors } from '../common/app.error.js';
import { DEV_JWT_SECRET, GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';

type TokenType = 'access' | 'refresh';

interface Claims {
  sub?: unknown;
  typ?: unknown;
  jti?: unknown;
  sid?: unknown;
  exp?: unknown;
}

/** What a valid access token says. */
export interface AccessClaims {
  userId: Id;
  /** The session it belongs to; absent for tokens of an external identity provider (no Parley session). */
  sessionId?: string;
  /** When it expires (ms since the epoch). */
  expiresAt: number;
}

export interface RefreshClaims {
  userId: Id;
  /** Absent only on refresh tokens issued before sessions had ids (they are found by `jti`). */
  sessionId?: string;
  jti: string;
}

interface VerifyKey {
  kid: string;
  key: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Signs and verifies the gateway's JWTs. The algorithm is pinned (HS256 with JWT_SECRET, or RS256 with
 * JWT_PUBLIC_KEY), so `alg: none` and HS/RS key confusion are refused; `typ` keeps access and refresh tokens
 * from standing in for each other; `sub` must be a user id and `exp` must be there. Tokens name their key
 * (`kid`, a fingerprint), so a rotation can keep verifying tokens signed with the previous key
 * (JWT_SECRET_PREVIOUS, JWT_PUBLIC_KEY_PREVIOUS) while signing only with the new one.
 */
@Injectable()
export class TokenService {
  private readonly jwt = new JwtService();
  private readonly logger = new Logger('Auth');
  private readonly algorithm: 'HS256' | 'RS256';
  private readonly verifyKeys: VerifyKey[];
  private readonly signKey: VerifyKey | undefined;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    const pem = (value: string | undefined) => value?.replace(/\\n/g, '\n');
    const keyed = (key: string): VerifyKey => ({ kid: fingerprint(key), key });
    if (config.jwtPublicKey) {
      this.algorithm = 'RS256';
      this.verifyKeys = [config.jwtPublicKey, config.jwtPublicKeyPrevious].flatMap((k) =>
        k ? [keyed(pem(k)!)] : [],
      );
      const privateKey = pem(config.jwtPrivateKey);
      // The kid of an RS256 token is its public key's, so that verifiers can pick the key.
      this.signKey = privateKey ? { kid: this.verifyKeys[0]!.kid, key: privateKey } : undefined;
    } else {
      this.algorithm = 'HS256';
      this.verifyKeys = [config.jwtSecret, config.jwtSecretPrevious].flatMap((k) => (k ? [keyed(k)] : []));
      this.signKey = this.verifyKeys[0];
      if (config.jwtSecret === DEV_JWT_SECRET) {
        this.logger.warn(
          '!!! JWT_SECRET is the development default: anyone can forge tokens. Set JWT_SECRET in production. !!!',
        );
      }
    }
  }

  get canIssue(): boolean {
    return this.signKey !== undefined;
  }

  signAccess(userId: Id, sessionId: string): string {
    return this.sign({ sub: String(userId), typ: 'access', sid: sessionId }, this.config.accessTtlSeconds);
  }

  signRefresh(userId: Id, sessionId: string, jti: string): string {
    return this.sign(
      { sub: String(userId), typ: 'refresh', sid: sessionId, jti },
      this.config.refreshTtlSeconds,
    );
  }

  /** The claims of a valid access token; 401 `Unauthorized` otherwise. */
  verifyAccess(token: string): AccessClaims {
    const { userId, claims } = this.verify(token, 'access');
    return {
      userId,
      ...(typeof claims.sid === 'string' && UUID.test(claims.sid) ? { sessionId: claims.sid } : {}),
      expiresAt: (claims.exp as number) * 1000,
    };
  }

  verifyRefresh(token: string): RefreshClaims {
    const { userId, claims } = this.verify(token, 'refresh');
    if (typeof claims.jti !== 'string' || !UUID.test(claims.jti)) {
      throw AppErrors.unauthorized(ErrorMessages.invalidRefreshToken);
    }
    const sessionId = typeof claims.sid === 'string' && UUID.test(claims.sid) ? claims.sid : undefined;
    return { userId, jti: claims.jti, ...(sessionId ? { sessionId } : {}) };
  }

  private sign(payload: Record<string, string>, ttlSeconds: number): string {
    if (!this.signKey) throw new NotImplementedException(ErrorMessages.tokenIssuingDisabled);
    return this.jwt.sign(payload, {
      algorithm: this.algorithm,
      keyid: this.signKey.kid,
      secret: this.algorithm === 'HS256' ? this.signKey.key : undefined,
      privateKey: this.algorithm === 'RS256' ? this.signKey.key : undefined,
      expiresIn: ttlSeconds,
      ...(this.config.jwtIssuer ? { issuer: this.config.jwtIssuer } : {}),
      ...(this.config.jwtAudience ? { audience: this.config.jwtAudience } : {}),
    });
  }

  private verify(token: string, type: TokenType): { userId: Id; claims: Claims } {
    const refusal = () =>
      AppErrors.unauthorized(
        type === 'refresh' ? ErrorMessages.invalidRefreshToken : ErrorMessages.unauthorized,
      );
    const claims = this.verifyWithAnyKey(token);
    if (!claims) throw refusal();
    // Tokens from an external identity provider carry no typ: they count as access tokens.
    const typ = claims.typ ?? 'access';
    const userId =
      typeof claims.sub === 'string' && /^[1-9]\d{0,15}$/.test(claims.sub) ? Number(claims.sub) : NaN;
    // A token without exp would never expire, and a socket opened with it would live for ever.
    if (typ !== type || !Number.isSafeInteger(userId) || typeof claims.exp !== 'number') throw refusal();
    return { userId, claims };
  }

  /**
   * The claims, if a key of ours verifies the token: with one key (the usual case), that one; during a rotation,
   * the one its kid names first, then the other (an identity provider's tokens carry kids of their own).
   */
  private verifyWithAnyKey(token: string): Claims | undefined {
    const [only] = this.verifyKeys;
    if (this.verifyKeys.length === 1) return this.verifyWith(token, only!.key);
    const kid = headerKid(token);
    const named = this.verifyKeys.find((k) => k.kid === kid);
    if (named) {
      const claims = this.verifyWith(token, named.key);
      if (claims) return claims;
    }
    for (const { key } of this.verifyKeys) {
      if (key === named?.key) continue;
      const claims = this.verifyWith(token, key);
      if (claims) return claims;
    }
    return undefined;
  }

  private verifyWith(token: string, key: string): Claims | undefined {
    try {
      return this.jwt.verify<Claims>(token, {
        algorithms: [this.algorithm],
        secret: this.algorithm === 'HS256' ? key : undefined,
        publicKey: this.algorithm === 'RS256' ? key : undefined,
        clockTolerance: this.config.jwtClockToleranceSeconds,
        ...(this.config.jwtIssuer ? { issuer: this.config.jwtIssuer } : {}),
        ...(this.config.jwtAudience ? { audience: this.config.jwtAudience } : {}),
      });
    } catch {
      return undefined;
    }
  }
}

/** A key's id: a fingerprint that names it without revealing it. */
function fingerprint(key: string): string {
  return createHash('sha256').update(`parley-jwt-key:${key}`).digest('base64url').slice(0, 16);
}

function headerKid(token: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as {
      kid?: unknown;
    };
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}
