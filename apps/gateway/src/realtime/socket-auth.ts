import { Logger } from '@nestjs/common';
import { ErrorMessages, type Id } from '@parley/contracts';
import type { Socket } from 'socket.io';
import type { TokenService } from '../auth/token.service.js';
import type { GatewayConfig } from '../config/gateway.config.js';

export interface SocketData {
  userId: Id;
}

/**
 * Authenticates the Socket.IO handshake (a namespace middleware: Nest guards do not run on connection, see
 * nestjs/nest#882). The token comes from `auth.token`, else `?token=`, else `Authorization: Bearer`; a `userId`
 * query parameter (seed 003) must match it. Refusals reach the client as `connect_error` "Unauthorized".
 */
export function socketAuthMiddleware(
  tokens: TokenService,
  config: GatewayConfig,
  onHandshake: (accepted: boolean) => void = () => undefined,
) {
  const insecure = config.authMode === 'insecure-user-id';
  if (insecure) {
    new Logger('Auth').warn(
      '!!! AUTH_MODE=insecure-user-id: Socket.IO trusts ?userId= without a token. Anyone can be anyone. Development only. !!!',
    );
  }
  return (socket: Socket, next: (err?: Error) => void): void => {
    const { auth, query, headers } = socket.handshake;
    const token =
      text((auth as { token?: unknown } | undefined)?.token) ??
      text(query.token) ??
      /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
    const claimed = query.userId === undefined ? undefined : parseId(query.userId);
    let userId: Id | undefined;
    if (token) {
      try {
        userId = tokens.verifyAccess(token);
      } catch {
        onHandshake(false);
        return next(new Error(ErrorMessages.unauthorized));
      }
    } else if (insecure && claimed !== undefined) {
      userId = claimed;
    }
    if (userId === undefined || (query.userId !== undefined && claimed !== userId)) {
      onHandshake(false);
      return next(new Error(ErrorMessages.unauthorized));
    }
    (socket.data as SocketData).userId = userId;
    onHandshake(true);
    next();
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function parseId(value: unknown): Id | undefined {
  const s = Array.isArray(value) ? undefined : String(value);
  return s && /^[1-9]\d{0,15}$/.test(s) && Number.isSafeInteger(Number(s)) ? Number(s) : undefined;
}
