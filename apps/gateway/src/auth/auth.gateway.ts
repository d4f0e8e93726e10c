import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { AuthenticateDto, ClientEvent, type AuthenticateAck } from '@parley/contracts';
import type { Socket } from 'socket.io';
import { AppErrors } from '../common/app.error.js';
import { RateLimits } from '../common/rate-limits.service.js';
import { ChatSocketGateway } from '../realtime/chat-socket-gateway.decorator.js';
import { SocketAuth, type SocketData } from '../realtime/socket-auth.js';
import { SocketSessions } from '../realtime/socket-sessions.js';

/** `authenticate`: a fresh access token of the same user keeps the socket open past the old token's expiry. */
@ChatSocketGateway()
export class AuthGateway {
  constructor(
    private readonly socketAuth: SocketAuth,
    private readonly sessions: SocketSessions,
    private readonly limits: RateLimits,
  ) {}

  @SubscribeMessage(ClientEvent.Authenticate)
  async authenticate(
    @ConnectedSocket() socket: Socket,
    @MessageBody() dto: AuthenticateDto,
  ): Promise<AuthenticateAck> {
    const { userId } = socket.data as SocketData;
    await this.limits.consume('authenticate', userId);
    const claims = this.socketAuth.verify(dto.token);
    if (!claims || claims.userId !== userId) throw AppErrors.unauthorized();
    this.sessions.renew(socket, claims);
    return { success: true, expires_at: new Date(claims.expiresAt).toISOString() };
  }
}
