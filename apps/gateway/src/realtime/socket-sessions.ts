import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { ErrorMessages, ServerEvent } from '@parley/contracts';
import type { Socket } from 'socket.io';
import type { AccessClaims } from '../auth/token.service.js';
import { SessionRevocations } from '../auth/session-revocations.service.js';
import type { SocketData } from './socket-auth.js';

/**
 * A socket lives no longer than its access token and its session. Each socket is filed under the second its
 * token expires (a timer wheel: one timer for all sockets, and each tick touches only the sockets due) and under
 * its session id; at expiry it gets `error` `Token expired`, when its session ends (on any gateway) `error`
 * `Session ended`, and then it is disconnected. `authenticate` with a fresh token moves it to a later second.
 */
@Injectable()
export class SocketSessions implements OnModuleDestroy {
  private readonly logger = new Logger('SocketSessions');
  /** Expiry second → the sockets whose token expires in it. */
  private readonly wheel = new Map<number, Set<Socket>>();
  private readonly bySession = new Map<string, Set<Socket>>();
  private readonly timer: NodeJS.Timeout;
  private nextSecond = Math.floor(Date.now() / 1000);

  constructor(private readonly revocations: SessionRevocations) {
    revocations.onEnded(({ sessionId }) => this.endSession(sessionId));
    this.timer = setInterval(() => this.expireDue(), 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** A new socket, authenticated at the handshake (socket.data holds its token's session and expiry). */
  track(socket: Socket): void {
    const data = socket.data as SocketData;
    // The session may have ended between the handshake's check and now (another gateway's logout arrived).
    if (this.revocations.isEnded(data.sessionId)) return this.close(socket, ErrorMessages.sessionEnded);
    this.file(socket, data);
  }

  /** `authenticate`: the socket now lives as long as `claims` (same user, checked by the caller). */
  renew(socket: Socket, claims: AccessClaims): void {
    const data = socket.data as SocketData;
    this.unfile(socket, data);
    data.sessionId = claims.sessionId;
    data.expiresAt = claims.expiresAt;
    this.file(socket, data);
  }

  untrack(socket: Socket): void {
    this.unfile(socket, socket.data as SocketData);
  }

  private file(socket: Socket, data: SocketData): void {
    if (data.expiresAt !== undefined) {
      const second = Math.floor(data.expiresAt / 1000);
      if (second < this.nextSecond) return this.close(socket, ErrorMessages.tokenExpired);
      let due = this.wheel.get(second);
      if (!due) this.wheel.set(second, (due = new Set()));
      due.add(socket);
    }
    if (data.sessionId !== undefined) {
      let sockets = this.bySession.get(data.sessionId);
      if (!sockets) this.bySession.set(data.sessionId, (sockets = new Set()));
      sockets.add(socket);
    }
  }

  private unfile(socket: Socket, data: SocketData): void {
    if (data.expiresAt !== undefined) {
      const second = Math.floor(data.expiresAt / 1000);
      const due = this.wheel.get(second);
      if (due?.delete(socket) && due.size === 0) this.wheel.delete(second);
    }
    if (data.sessionId !== undefined) {
      const sockets = this.bySession.get(data.sessionId);
      if (sockets?.delete(socket) && sockets.size === 0) this.bySession.delete(data.sessionId);
    }
  }

  private expireDue(): void {
    const now = Math.floor(Date.now() / 1000);
    for (; this.nextSecond <= now; this.nextSecond++) {
      const due = this.wheel.get(this.nextSecond);
      if (!due) continue;
      this.wheel.delete(this.nextSecond);
      for (const socket of due) this.close(socket, ErrorMessages.tokenExpired);
    }
  }

  private endSession(sessionId: string): void {
    const sockets = this.bySession.get(sessionId);
    if (!sockets) return;
    this.logger.debug({ sessionId, sockets: sockets.size }, 'session ended: closing its sockets');
    for (const socket of [...sockets]) this.close(socket, ErrorMessages.sessionEnded);
  }

  /** Tells the socket why, then disconnects it (its `disconnect` handler untracks it). */
  private close(socket: Socket, reason: string): void {
    this.untrack(socket);
    if (!socket.connected) return;
    socket.emit(ServerEvent.Error, { message: reason });
    socket.disconnect(true);
  }
}
