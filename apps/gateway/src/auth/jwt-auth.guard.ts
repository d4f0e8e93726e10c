import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorMessages } from '@parley/contracts';
import { IS_PUBLIC } from '@parley/observability';
import type { Request } from 'express';
import { AppErrors } from '../common/app.error.js';
import { SessionRevocations } from './session-revocations.service.js';
import { TokenService } from './token.service.js';

export interface AuthenticatedRequest extends Request {
  userId: number;
  sessionId?: string;
}

/**
 * Fail closed: every HTTP route needs `Authorization: Bearer <access token>` (valid, unexpired, of a session that
 * has not ended) unless its handler or controller is marked `@Public()`. The decision never looks at the path,
 * so no spelling of a URL can route around it. (Socket.IO events are authenticated at the handshake and by
 * `authenticate`, see realtime/socket-auth.ts.)
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly revocations: SessionRevocations,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]))
      return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match) throw AppErrors.unauthorized();
    const claims = this.tokens.verifyAccess(match[1]!);
    if (this.revocations.isEnded(claims.sessionId)) throw AppErrors.unauthorized(ErrorMessages.sessionEnded);
    req.userId = claims.userId;
    req.sessionId = claims.sessionId;
    return true;
  }
}
