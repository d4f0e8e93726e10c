import { Inject, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit } from '@nestjs/websockets';
import { Rooms, type ServerToClientEvents } from '@parley/contracts';
import { LifecycleService } from '@parley/observability';
import type { Namespace, Socket } from 'socket.io';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { CompatHub } from '../compat/compat-hub.js';
import { ChatEvents } from './chat-events.service.js';
import { ChatSocketGateway } from './chat-socket-gateway.decorator.js';
import { PresenceService } from '../presence/presence.service.js';
import { RealtimeMetrics } from './realtime.metrics.js';
import { SocketAuth, type SocketData } from './socket-auth.js';
import { SocketSessions } from './socket-sessions.js';
import { slowConsumerGuard } from './slow-consumer.guard.js';

type ChatSocket = Socket<Record<string, never>, ServerToClientEvents, Record<string, never>, SocketData>;

/**
 * The `/chat` namespace's connections: authenticated at the handshake (SocketAuth), then each socket joins its
 * user's room, is registered in presence, lives no longer than its token and session (SocketSessions), and is
 * dropped if it stops reading. The events themselves are handled by each feature's gateway (messages/,
 * conversations/, auth/).
 */
@ChatSocketGateway()
export class ChatGateway
  implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, BeforeApplicationShutdown
{
  private readonly logger = new Logger('ChatGateway');
  private nsp?: Namespace;
  private readonly registrations = new WeakMap<Socket, Promise<void>>();
  private readonly guardSlowConsumer: (socket: Socket) => void;

  constructor(
    private readonly socketAuth: SocketAuth,
    private readonly sessions: SocketSessions,
    private readonly events: ChatEvents,
    private readonly compat: CompatHub,
    private readonly presence: PresenceService,
    private readonly lifecycle: LifecycleService,
    private readonly metrics: RealtimeMetrics,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.guardSlowConsumer = slowConsumerGuard(config.socketMaxBufferedPackets, (socket) => {
      this.metrics.slowConsumers.inc();
      this.logger.warn(
        { userId: (socket.data as SocketData).userId, socketId: socket.id },
        'dropped a socket that stopped reading',
      );
    });
  }

  async afterInit(nsp: Namespace): Promise<void> {
    this.nsp = nsp;
    nsp.use(this.socketAuth.middleware());
    this.events.attach(nsp);
    this.compat.attach(nsp);
    this.metrics.attach(nsp);
    await this.presence.attach(nsp);
  }

  handleConnection(socket: ChatSocket): void {
    if (this.lifecycle.draining) {
      socket.conn.close(); // the client reconnects, through the load balancer, to an instance that is not leaving
      return;
    }
    const { userId } = socket.data;
    // The handshake (headers, auth, address) has been read; the HTTP request that opened the connection is not
    // needed again and is the biggest thing an idle socket keeps alive (Socket.IO's memory-usage advice).
    (socket.conn as { request: unknown }).request = null;
    this.metrics.watch(socket);
    this.guardSlowConsumer(socket);
    this.sessions.track(socket);
    void socket.join(Rooms.user(userId));
    // Kept only until it settles (an idle socket should cost as little as possible).
    const registration = this.presence
      .connected(socket, userId)
      .catch((err: unknown) => {
        this.logger.warn(`presence of user ${userId} not recorded: ${(err as Error).message}`);
      })
      .finally(() => this.registrations.delete(socket));
    this.registrations.set(socket, registration);
  }

  handleDisconnect(socket: ChatSocket): void {
    const { userId } = socket.data;
    if (!userId) return;
    this.sessions.untrack(socket);
    // After the registration, never before it: a fast connect/disconnect must not leave a stale entry behind.
    const registered = this.registrations.get(socket) ?? Promise.resolve();
    void registered
      .then(() => this.presence.disconnected(socket, userId))
      .catch((err: unknown) =>
        this.logger.warn(`presence of user ${userId} not cleared: ${(err as Error).message}`),
      );
  }

  /**
   * SIGTERM: readiness turns false, new sockets are turned away, current ones are closed at the transport level so
   * their clients reconnect (to another instance) on their own, and presence is handed over without a flap.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.lifecycle.startDraining();
    for (const socket of this.nsp?.sockets.values() ?? []) socket.conn.close();
    await this.presence.drain();
  }
}
