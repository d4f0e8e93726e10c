import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ClientEvent, ErrorMessages, Rooms, ServerEvent, socketFrameMaxBytes } from '@parley/contracts';
import { LifecycleService, METRICS_REGISTRY } from '@parley/observability';
import { Gauge, type Registry } from 'prom-client';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { clientAddress, trustFunction } from '../common/client-address.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { ConversationsService } from '../conversations/conversations.service.js';
import { MembersService } from '../conversations/members.service.js';
import { MentorsService } from '../mentors/mentors.service.js';
import { MessagesService } from '../messages/messages.service.js';
import { UsersService } from '../users/users.service.js';
import { PresenceService } from '../presence/presence.service.js';
import { ConnectionsByAddress } from '../realtime/connections-by-address.js';
import { RealtimeMetrics } from '../realtime/realtime.metrics.js';
import { SocketAuth, type SocketData } from '../realtime/socket-auth.js';
import { SocketSessions } from '../realtime/socket-sessions.js';
import { describe, type CompatChannel, type CompatServices } from './channel.js';
import { CloseCode, CompatConnection } from './compat-connection.js';
import { CompatHub } from './compat-hub.js';
import { COOKIE_PROFILES, matchRoute, SESSION_COOKIE, type MatchedRoute } from './profiles.js';

/** Attempts at setting a connection's channel up while the chats service sheds reads, and the first pause. */
const START_ATTEMPTS = 5;
const START_RETRY_MS = 200;

/** How often every plain-WebSocket client is pinged; one that has not answered the previous ping is cut. */
const PING_INTERVAL_MS = 25_000;

/**
 * The plain-WebSocket edge: the other seeds' clients, on the gateway's own HTTP port, beside Socket.IO. An upgrade
 * to one of the enabled profiles' paths (profiles.ts) is authenticated before it is accepted (`?token=` or
 * `Authorization: Bearer`, the same access tokens, sessions and checks as Socket.IO: 401 otherwise) and counted
 * against the same per-address and per-user caps; the connection then joins its user's room, is registered in
 * presence, lives no longer than its token and session (SocketSessions), and is handed to its seed's channel.
 * Frames larger than the largest valid message close it (1009); a drain closes every connection with 1012.
 */
@Injectable()
export class CompatServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Compat');
  private readonly wss: WebSocketServer;
  private readonly services: CompatServices;
  private readonly alive = new WeakSet<WebSocket>();
  private readonly trust: ReturnType<typeof trustFunction>;
  private pinger?: NodeJS.Timeout;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly hub: CompatHub,
    private readonly socketAuth: SocketAuth,
    private readonly sessions: SocketSessions,
    private readonly presence: PresenceService,
    private readonly lifecycle: LifecycleService,
    private readonly addresses: ConnectionsByAddress,
    private readonly metrics: RealtimeMetrics,
    messages: MessagesService,
    conversations: ConversationsService,
    members: MembersService,
    users: UsersService,
    mentors: MentorsService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.services = { messages, conversations, members, users, mentors };
    this.trust = trustFunction(config.trustProxy);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: socketFrameMaxBytes(config.messageMaxLength),
      perMessageDeflate: false,
      clientTracking: false,
    });
    new Gauge({
      name: 'parley_compat_connections',
      help: "Plain-WebSocket connections (the other seeds' clients) open on this gateway now",
      registers: [registry],
      collect() {
        this.set(hub.size);
      },
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.compatProfiles.length === 0) return;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.pinger.unref();
  }

  /** A drain: every connection is closed with 1012, so its client reconnects (to an instance that stays). */
  async beforeApplicationShutdown(): Promise<void> {
    this.lifecycle.startDraining(); // new upgrades are refused from now on (idempotent: ChatGateway does it too)
    clearInterval(this.pinger);
    for (const conn of [...this.hub.all()]) {
      (conn as CompatConnection).close(CloseCode.restart, 'server restarting');
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = matchRoute(url.pathname, this.config.compatProfiles, this.config.compatBarePaths);
    if (!route) return; // Socket.IO's, or nobody's (Engine.IO closes those)
    socket.on('error', () => socket.destroy()); // a client gone mid-handshake
    if (this.lifecycle.draining) return refuse(socket, 503, 'This instance is shutting down');
    const address = clientAddress(req, this.trust);
    if (this.addresses.full(address)) return refuse(socket, 429, ErrorMessages.tooManyConnections);
    const token =
      url.searchParams.get('token') ??
      /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ??
      (COOKIE_PROFILES.has(route.profile) ? this.cookieToken(req) : undefined);
    const claims = token ? this.socketAuth.verify(token) : undefined;
    if (!claims) {
      this.metrics.connections.inc({ outcome: 'unauthorized' });
      return refuse(socket, 401, ErrorMessages.unauthorized);
    }
    const data: SocketData = { userId: claims.userId };
    if (claims.sessionId !== undefined) data.sessionId = claims.sessionId;
    if (Number.isFinite(claims.expiresAt)) data.expiresAt = claims.expiresAt;
    // Counted once open (a handshake ws aborts never opens, and is never counted).
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      this.open(ws, route, data, this.addresses.opened(address)),
    );
  }

  /**
   * Seed 001's session cookie (`sessionid`, holding an access token: docs/compat.md), from a page of an allowed
   * origin only: a cookie rides along with any page's WebSocket, so another site's page must not get the user's
   * socket (cross-site WebSocket hijacking). Allowed: the gateway's own origin, and CORS_ORIGINS unless it is `*`.
   */
  private cookieToken(req: IncomingMessage): string | undefined {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let host: string;
      try {
        host = new URL(origin).host;
      } catch {
        return undefined;
      }
      const listed =
        this.config.corsOrigins !== '*' &&
        this.config.corsOrigins.split(',').some((o) => o.trim() === origin);
      if (host !== req.headers.host && !listed) return undefined;
    }
    const cookie = (req.headers.cookie ?? '')
      .split(';')
      .find((c) => c.trim().startsWith(`${SESSION_COOKIE}=`));
    return cookie ? decodeURIComponent(cookie.trim().slice(SESSION_COOKIE.length + 1)) : undefined;
  }

  private open(ws: WebSocket, route: MatchedRoute, data: SocketData, release: () => void): void {
    const conn = new CompatConnection(ws, this.hub, data, {
      maxQueued: this.config.socketMaxInFlight,
      maxBufferedBytes: this.config.compatMaxBufferedBytes,
    });
    const channel = route.route.open(conn, route.params, this.services);
    // A session's end or a token's expiry (`error` from SocketSessions) is every seed's error frame.
    conn.render((event, payload) =>
      event === ServerEvent.Error
        ? channel.error((payload as { message: string }).message)
        : channel.render(event, payload),
    );
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.on('error', () => ws.terminate());
    const registered = this.register(conn);
    ws.on('close', () => {
      release();
      this.hub.remove(conn.id);
      this.sessions.untrack(conn.asSocket());
      // After the registration, never before it: a fast connect/close must not leave a stale entry behind.
      registered.then(
        () =>
          this.presence
            .disconnected(conn.asSocket(), conn.userId)
            .catch((err: unknown) => this.logger.warn(`presence not cleared: ${(err as Error).message}`)),
        () => undefined, // never registered
      );
    });
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      // In the queue even when it is not JSON: the client's frames are answered in the order it sent them.
      const frame = isBinary ? undefined : parseJson(raw);
      conn.enqueue(
        async () => (frame === undefined ? channel.error('Invalid JSON format') : channel.onFrame(frame)),
        (message) => channel.error(message),
      );
    });
    // First in the connection's queue: the client's frames wait for its conversation to be set up. (A refused
    // registration closed the connection already.)
    const start = () =>
      registered.then(
        () => this.start(conn, channel),
        () => undefined,
      );
    conn.enqueue(start, () => undefined);
  }

  /**
   * Sets the channel up (its joins and the history its seed pushes on connect). Those are reads the chats service
   * sheds first under load ("Service busy"): a plain-WebSocket client has no request to retry, so the gateway tries
   * again itself, a few times with a growing, jittered pause, before it closes with 1013 (Try Again Later). Any other
   * failure closes with 1011. Every step of a start may run again (joins and reads; creating a direct conversation
   * returns the existing one).
   */
  private async start(conn: CompatConnection, channel: CompatChannel): Promise<void> {
    for (let attempt = 1; conn.connected; attempt++) {
      try {
        return await channel.start();
      } catch (err) {
        const busy = describe(err, ClientEvent.JoinConversation) === ErrorMessages.serviceBusy;
        if (busy && attempt < START_ATTEMPTS) {
          await sleep(START_RETRY_MS * 2 ** (attempt - 1) * (0.5 + Math.random()));
          continue;
        }
        this.logger.warn(
          { userId: conn.userId, err: (err as Error).message, attempt },
          'compat channel did not start',
        );
        return conn.close(
          busy ? CloseCode.tryAgainLater : CloseCode.unavailable,
          describe(err, ClientEvent.JoinConversation),
        );
      }
    }
  }

  /**
   * The per-user cap, then the user's room, SocketSessions and presence, as a Socket.IO socket gets them. Rejects
   * (and closes the connection) over the cap.
   */
  private async register(conn: CompatConnection): Promise<void> {
    const { userId } = conn.data;
    if ((await this.presence.socketCount(userId)) >= this.config.socketMaxPerUser) {
      this.metrics.connections.inc({ outcome: 'too_many' });
      conn.close(CloseCode.tooManyConnections, ErrorMessages.tooManyConnections);
      throw new Error(ErrorMessages.tooManyConnections);
    }
    if (!conn.connected) throw new Error('closed');
    this.metrics.connections.inc({ outcome: 'accepted' });
    this.hub.add(conn, [Rooms.user(userId)]);
    this.sessions.track(conn.asSocket());
    await this.presence.connected(conn.asSocket(), userId).catch((err: unknown) => {
      this.logger.warn(`presence of user ${userId} not recorded: ${(err as Error).message}`);
    });
  }

  private ping(): void {
    for (const member of this.hub.all()) {
      const ws = (member as CompatConnection).socket;
      if (!this.alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }
}

/** A frame's JSON, or undefined when it is not JSON. */
function parseJson(raw: RawData): unknown {
  try {
    return JSON.parse(
      Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.concat(toBuffers(raw)).toString('utf8'),
    ) as unknown;
  } catch {
    return undefined;
  }
}

function toBuffers(raw: ArrayBuffer | Buffer[]): Buffer[] {
  return Array.isArray(raw) ? raw : [Buffer.from(raw)];
}

/** Answers an upgrade with an HTTP error (the WebSocket never opens). */
function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ statusCode: status, message });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 429 ? 'Too Many Requests' : 'Service Unavailable'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n` +
      (status === 503 ? 'Retry-After: 2\r\n' : '') +
      `\r\n${body}`,
  );
}
