import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorMessages } from '@parley/contracts';
import type { Request } from 'express';
import { IS_PUBLIC } from './public.decorator.js';
import { TokenService } from './token.service.js';

export interface AuthenticatedRequest extends Request {
  userId: number;
}

/**
 * Every route under `/api` needs `Authorization: Bearer <access token>` unless marked `@Public()`. Operational
 * routes (`/health`, `/metrics`) live outside `/api` and are open, as probes and scrapers expect.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!req.path.startsWith('/api/')) return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]))
      return true;
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match) throw new UnauthorizedException(ErrorMessages.unauthorized);
    req.userId = this.tokens.verifyAccess(match[1]!);
    return true;
  }
}
