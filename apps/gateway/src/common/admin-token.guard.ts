import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ErrorMessages } from '@parley/contracts';
import type { Request } from 'express';
import { AuthThrottle } from '../auth/auth-throttle.service.js';
import { AppError } from './app.error.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';

/**
 * The admin API's guard: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time; every attempt takes a
 * point of the per-address auth throttle first (no guessing the token at speed). Without ADMIN_TOKEN nobody passes.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly digest?: Buffer;

  constructor(
    private readonly throttle: AuthThrottle,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    if (config.adminToken) this.digest = sha256(config.adminToken);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    await this.throttle.attempt(req.ip ?? 'unknown');
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!this.digest || !token || !timingSafeEqual(sha256(token), this.digest)) {
      throw new AppError(403, ErrorMessages.adminOnly);
    }
    return true;
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
