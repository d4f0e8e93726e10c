import { Inject, Injectable, Logger, NotImplementedException, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { ErrorMessages } from '@parley/contracts';
import { DEV_JWT_SECRET, GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';

type TokenType = 'access' | 'refresh';

interface Claims {
  sub?: unknown;
  typ?: unknown;
  jti?: unknown;
}

/**
 * Signs and verifies the gateway's JWTs. The algorithm is pinned (HS256 with JWT_SECRET, or RS256 with
 * JWT_PUBLIC_KEY), so `alg: none` and HS/RS key confusion are refused; `typ` keeps access and refresh tokens
 * from standing in for each other; `sub` must be a user id.
 */
@Injectable()
export class TokenService {
  private readonly jwt = new JwtService();
  private readonly logger = new Logger('Auth');
  private readonly algorithm: 'HS256' | 'RS256';
  private readonly verifyKey: string;
  private readonly signKey: string | undefined;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    const pem = (value: string | undefined) => value?.replace(/\\n/g, '\n');
    if (config.jwtPublicKey) {
      this.algorithm = 'RS256';
      this.verifyKey = pem(config.jwtPublicKey)!;
      this.signKey = pem(config.jwtPrivateKey);
    } else {
      this.algorithm = 'HS256';
      this.verifyKey = this.signKey = config.jwtSecret;
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

  signAccess(userId: number): string {
    return this.sign({ sub: String(userId), typ: 'access' }, this.config.accessTtlSeconds);
  }

  signRefresh(userId: number, jti: string): string {
    return this.sign({ sub: String(userId), typ: 'refresh', jti }, this.config.refreshTtlSeconds);
  }

  /** The user id of a valid access token; UnauthorizedException otherwise. */
  verifyAccess(token: string): number {
    return this.verify(token, 'access').userId;
  }

  verifyRefresh(token: string): { userId: number; jti: string } {
    const { userId, claims } = this.verify(token, 'refresh');
    if (typeof claims.jti !== 'string' || !/^[0-9a-f-]{36}$/.test(claims.jti)) {
      throw new UnauthorizedException(ErrorMessages.invalidRefreshToken);
    }
    return { userId, jti: claims.jti };
  }

  private sign(payload: Record<string, string>, ttlSeconds: number): string {
    if (!this.signKey) throw new NotImplementedException(ErrorMessages.tokenIssuingDisabled);
    return this.jwt.sign(payload, {
      algorithm: this.algorithm,
      secret: this.algorithm === 'HS256' ? this.signKey : undefined,
      privateKey: this.algorithm === 'RS256' ? this.signKey : undefined,
      expiresIn: ttlSeconds,
      ...(this.config.jwtIssuer ? { issuer: this.config.jwtIssuer } : {}),
      ...(this.config.jwtAudience ? { audience: this.config.jwtAudience } : {}),
    });
  }

  private verify(token: string, type: TokenType): { userId: number; claims: Claims } {
    let claims: Claims;
    try {
      claims = this.jwt.verify<Claims>(token, {
        algorithms: [this.algorithm],
        secret: this.algorithm === 'HS256' ? this.verifyKey : undefined,
        publicKey: this.algorithm === 'RS256' ? this.verifyKey : undefined,
        ...(this.config.jwtIssuer ? { issuer: this.config.jwtIssuer } : {}),
        ...(this.config.jwtAudience ? { audience: this.config.jwtAudience } : {}),
      });
    } catch {
      throw new UnauthorizedException(
        type === 'refresh' ? ErrorMessages.invalidRefreshToken : ErrorMessages.unauthorized,
      );
    }
    // Tokens from an external identity provider carry no typ: they count as access tokens.
    const typ = claims.typ ?? 'access';
    const userId =
      typeof claims.sub === 'string' && /^[1-9]\d{0,15}$/.test(claims.sub) ? Number(claims.sub) : NaN;
    if (typ !== type || !Number.isSafeInteger(userId)) {
      throw new UnauthorizedException(
        type === 'refresh' ? ErrorMessages.invalidRefreshToken : ErrorMessages.unauthorized,
      );
    }
    return { userId, claims };
  }
}
