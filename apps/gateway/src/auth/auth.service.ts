import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import {
  ErrorMessages,
  type AuthResult,
  type AuthTokens,
  type LoginDto,
  type RegisterDto,
} from '@parley/contracts';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.js';
import { TokenService } from './token.service.js';

@Injectable()
export class AuthService {
  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly tokens: TokenService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async register(dto: RegisterDto): Promise<AuthResult> {
    const user = await this.rpc.call('users.register', {
      username: dto.username,
      password_hash: await hashPassword(dto.password),
      display_name: dto.display_name ?? null,
    });
    return { user, tokens: await this.issue(user.id) };
  }

  async login(dto: LoginDto): Promise<AuthResult> {
    const found = await this.rpc.call('users.find-credentials', { username: dto.username });
    if (!found) {
      await burnPasswordCheck(dto.password);
      throw new UnauthorizedException(ErrorMessages.invalidCredentials);
    }
    if (!(await verifyPassword(found.password_hash, dto.password))) {
      throw new UnauthorizedException(ErrorMessages.invalidCredentials);
    }
    return { user: found.user, tokens: await this.issue(found.user.id) };
  }

  /** Uses the refresh token once; its successor comes back with a new access token. */
  async refresh(refreshToken: string): Promise<AuthTokens> {
    const { userId, jti } = this.tokens.verifyRefresh(refreshToken);
    const next = await this.rpc.call('tokens.rotate', {
      jti,
      user_id: userId,
      ttl_seconds: this.config.refreshTtlSeconds,
    });
    return { access: this.tokens.signAccess(userId), refresh: this.tokens.signRefresh(userId, next.jti) };
  }

  private async issue(userId: number): Promise<AuthTokens> {
    const access = this.tokens.signAccess(userId); // fails first when this deployment cannot issue tokens
    const refresh = await this.rpc.call('tokens.issue', {
      user_id: userId,
      ttl_seconds: this.config.refreshTtlSeconds,
    });
    return { access, refresh: this.tokens.signRefresh(userId, refresh.jti) };
  }
}
