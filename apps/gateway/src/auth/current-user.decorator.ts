import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedRequest } from './jwt-auth.guard.js';

/** The authenticated user's id (set by JwtAuthGuard). */
export const CurrentUserId = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): number => ctx.switchToHttp().getRequest<AuthenticatedRequest>().userId,
);

/** The session the caller's access token belongs to, if it names one (set by JwtAuthGuard). */
export const CurrentSessionId = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): string | undefined =>
    ctx.switchToHttp().getRequest<AuthenticatedRequest>().sessionId,
);
