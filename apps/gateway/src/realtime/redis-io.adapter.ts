import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplicationContext } from '@nestjs/common';
import { ErrorMessages, socketFrameMaxBytes } from '@parley/contracts';
import { LifecycleService } from '@parley/observability';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { clientAddress, trustFunction } from '../common/client-address.js';
import type { GatewayConfig } from '../config/gateway.config.js';
import { RedisService } from '../redis/redis.service.js';
import { ConnectionsByAddress } from './connections-by-address.js';
import { SocketAuth } from './socket-auth.js';

/** The client address of an Engine.IO connection, set on its handshake request (for the per-address count). */
const ADDRESS = Symbol('parley.address');
type AddressedRequest = IncomingMessage & { [ADDRESS]?: string };

/**
 * Socket.IO across gateway instances with the sharded Redis adapter (Redis 7 SPUBLISH/SSUBSCRIBE) in `dynamic`
 * mode: a broadcast to one room goes on that room's own channel, and an instance subscribes only to the channels
 * of rooms it has sockets in, so adding gateways adds capacity instead of adding copies of every broadcast.
 *
 * It also keeps out what costs work before any handler runs: frames larger than the largest valid event, the
 * default namespace (and any but /chat), handshakes with a bad token in the URL or header, and more than
 * SOCKET_MAX_PER_ADDRESS connections from one client address.
 */
export class RedisIoAdapter extends IoAdapter {
  private readonly redis: RedisService;
  private readonly lifecycle: LifecycleService;
  private readonly socketAuth: SocketAuth;
  private readonly connectionsByAddress: ConnectionsByAddress;

  constructor(
    app: INestApplicationContext,
    private readonly config: GatewayConfig,
  ) {
    super(app);
    this.redis = app.get(RedisService);
    this.lifecycle = app.get(LifecycleService);
    this.socketAuth = app.get(SocketAuth);
    this.connectionsByAddress = app.get(ConnectionsByAddress);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const origins =
      this.config.corsOrigins === '*' ? true : this.config.corsOrigins.split(',').map((o) => o.trim());
    const trust = trustFunction(this.config.trustProxy);
    const server = super.createIOServer(port, {
      ...options,
      cors: { origin: origins },
      // The largest valid event (a send-message of MESSAGE_MAX_LENGTH characters, each escaped as \uXXXX), not
      // 1 MB: a bigger frame closes that connection before anything parses it.
      maxHttpBufferSize: socketFrameMaxBytes(this.config.messageMaxLength),
      pingInterval: 25_000,
      pingTimeout: 20_000,
      // An Engine.IO connection that never joins a namespace is closed after this.
      connectTimeout: 10_000,
      allowRequest: (req: AddressedRequest, callback: (err: string | null, ok: boolean) => void) => {
        const address = clientAddress(req, trust);
        if (this.connectionsByAddress.full(address)) {
          return callback(ErrorMessages.tooManyConnections, false);
        }
        const refusal = this.socketAuth.checkHandshakeRequest(req);
        if (refusal) return callback(refusal, false);
        req[ADDRESS] = address;
        callback(null, true);
      },
    } as ServerOptions);
    this.countConnectionsByAddress(server);
    // While draining, new connections are refused before Socket.IO sees them: a load balancer retries the
    // handshake on another instance (nginx does on 503), and a direct client backs off and tries again.
    server.engine.use((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
      if (!this.lifecycle.draining) return next();
      res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '2' });
      res.end('This instance is shutting down');
    });
    // Only /chat serves anyone; Socket.IO's main namespace always exists, so it is closed explicitly.
    server.of('/').use((_socket, next) => next(new Error(ErrorMessages.invalidNamespace)));
    server.adapter(
      createShardedAdapter(this.redis.adapterPub, this.redis.adapterSub, {
        channelPrefix: this.redis.key('io'),
        subscriptionMode: 'dynamic',
      }),
    );
    return server;
  }

  private countConnectionsByAddress(server: Server): void {
    server.engine.on(
      'connection',
      (conn: { request: AddressedRequest; once(e: 'close', f: () => void): void }) => {
        const address = conn.request[ADDRESS];
        if (address !== undefined) conn.once('close', this.connectionsByAddress.opened(address));
      },
    );
  }

  /**
   * What IoAdapter does, without its per-socket rxjs pipeline (fromEvent, mergeMap, takeUntil and their subscribers
   * for every handler of every socket): a plain listener per event. Same behaviour: each event is handled on its
   * own, concurrently; a non-nil result is the ack (or an `{ event, data }` to emit); errors are logged. An idle
   * socket costs about half the memory this way (docs/benchmarks.md, "Optimizations").
   */
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message as string, (...args: unknown[]) => {
        const { data, ack } = this.mapPayload(args.length === 1 ? args[0] : args);
        let result$: Observable<unknown>;
        try {
          result$ = transform(callback(data, ack));
        } catch (err) {
          this.logger.error(err);
          return;
        }
        result$.subscribe({
          next: (response) => {
            if (response === null || response === undefined || socket.disconnected) return;
            const { event, data: payload } = response as { event?: string; data?: unknown };
            if (event) socket.emit(event, payload);
            else if (!isAckHandledManually && typeof ack === 'function')
              (ack as (r: unknown) => void)(response);
          },
          error: (err: unknown) => this.logger.error(err),
        });
      });
    }
  }
}
