import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, NotImplementedException } from '@nestjs/common';
import {
  ErrorCode,
  ErrorMessages,
  isRpcErrorBody,
  type AuthResult,
  type AuthTokens,
  type Id,
  type LoginDto,
  type RegisterDto,
} from '@parley/contracts';
import { AppErrors } from '../common/app.error.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';
import { AuthThrottle } from './auth-throttle.service.js';
import { SessionRevocations } from './session-revocations.service.js';
import { TokenService } from './token.service.js';

/**
 * Registration, login, refresh and logout. Every login starts a session (its id is the `sid` of its tokens);
 * passwords are hashed and checked in the chats service, and every attempt is throttled (AuthThrottle).
 */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly tokens: TokenService,
    private readonly throttle: AuthThrottle,
    private readonly revocations: SessionRevocations,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async register(dto: RegisterDto, address: string): Promise<AuthResult> {
    await this.throttle.attempt(address);
    const session = this.newSession();
    const { user } = await this.rpc.call('users.register', {
      username: dto.username,
      password: dto.password,
      display_name: dto.display_name ?? null,
      email: dto.email ?? null,
      session,
    });
    return { user, tokens: this.sign(user.id, session.id, session.jti) };
  }

  login(dto: LoginDto, address: string): Promise<AuthResult> {
    return this.loginAs({ username: dto.username }, dto.username, dto.password, address);
  }

  /** Seed 004's login: the user named by their e-mail address (compared without case). */
  loginByEmail(email: string, password: string, address: string): Promise<AuthResult> {
    // Failed logins are counted per account: an address is one, apart from usernames (which cannot hold a `:`).
    return this.loginAs({ email }, `email:${email.toLowerCase()}`, password, address);
  }

  private async loginAs(
    name: { username: string } | { email: string },
    throttleKey: string,
    password: string,
    address: string,
  ): Promise<AuthResult> {
    await this.throttle.attempt(address);
    await this.throttle.beforeLogin(throttleKey);
    const session = this.newSession();
    try {
      const { user } = await this.rpc.call('users.login', { ...name, password, session });
      await this.throttle.loginSucceeded(throttleKey);
      return { user, tokens: this.sign(user.id, session.id, session.jti) };
    } catch (err) {
      if (!isRpcErrorBody(err) || err.code !== ErrorCode.InvalidCredentials) throw err;
      await this.throttle.loginFailed(throttleKey);
      throw AppErrors.unauthorized(ErrorMessages.invalidCredentials);
    }
  }

  /** Uses the refresh token once; its successor comes back with a new access token of the same session. */
  async refresh(refreshToken: string, address: string): Promise<AuthTokens> {
    await this.throttle.attempt(address);
    const claims = this.tokens.verifyRefresh(refreshToken);
    const result = await this.rpc.call('sessions.rotate', {
      user_id: claims.userId,
      session_id: claims.sessionId ?? null,
      jti: claims.jti,
      new_jti: randomUUID(),
      ttl_seconds: this.config.refreshTtlSeconds,
      grace_seconds: this.config.refreshReuseGraceSeconds,
    });
    if (result.status === 'refused') {
      // A replayed token ended its session: its access tokens and sockets go too, everywhere.
      if (result.ended_session_id) {
        await this.revocations.end([{ sessionId: result.ended_session_id, userId: claims.userId }]);
      }
      throw AppErrors.unauthorized(ErrorMessages.invalidRefreshToken);
    }
    return this.sign(claims.userId, result.session_id, result.jti);
  }

  /**
   * Ends the caller's session: the one their access token names, else the one of the refresh token they pass.
   * An identity provider's token names no Parley session: there is nothing to end.
   */
  async logout(userId: Id, sessionId: string | undefined, refresh: string | undefined, address: string) {
    await this.throttle.attempt(address);
    const target = sessionId ?? this.sessionOfRefresh(userId, refresh);
    if (!target) return;
    await this.rpc.call('sessions.end', { user_id: userId, session_id: target });
    await this.revocations.end([{ sessionId: target, userId }]);
  }

  /** Ends every session of the user (this one included). */
  async logoutAll(userId: Id, address: string): Promise<void> {
    await this.throttle.attempt(address);
    const { ended } = await this.rpc.call('sessions.end-all', { user_id: userId });
    await this.revocations.end(ended.map((sessionId) => ({ sessionId, userId })));
    this.logger.log({ userId, sessions: ended.length }, 'logged out everywhere');
  }

  private sessionOfRefresh(userId: Id, refresh: string | undefined): string | undefined {
    if (!refresh) return undefined;
    try {
      const claims = this.tokens.verifyRefresh(refresh);
      return claims.userId === userId ? claims.sessionId : undefined;
    } catch {
      return undefined; // an expired or foreign refresh token: nothing of the caller's to end
    }
  }

  /** A new session's ids; fails first when this deployment cannot issue tokens (RS256 without a private key). */
  private newSession() {
    if (!this.tokens.canIssue) throw new NotImplementedException(ErrorMessages.tokenIssuingDisabled);
    return { id: randomUUID(), jti: randomUUID(), ttl_seconds: this.config.refreshTtlSeconds };
  }

  private sign(userId: Id, sessionId: string, jti: string): AuthTokens {
    return {
      access: this.tokens.signAccess(userId, sessionId),
      refresh: this.tokens.signRefresh(userId, sessionId, jti),
    };
  }
}
