import { randomBytes } from 'node:crypto';
import { ErrorMessages } from '@parley/contracts';
import type { Socket } from 'socket.io';
import WebSocket from 'ws';
import type { SocketData } from '../realtime/socket-auth.js';
import type { CompatHub, RoomMember } from './compat-hub.js';

/** Close codes a plain-WebSocket client sees (docs/compat.md). */
export const CloseCode = {
  /** The gateway is draining (1012 Service Restart): reconnect, the load balancer picks another instance. */
  restart: 1012,
  /** The client stopped reading, or the service stayed busy while the connection started: reconnect later. */
  slowConsumer: 1013,
  tryAgainLater: 1013,
  /** The token expired, the session ended, or the token was refused after the upgrade. */
  unauthorized: 4401,
  /** Not a member of the conversation, or blocked. */
  forbidden: 4403,
  /** No such conversation or user. */
  notFound: 4404,
  /** Over the per-user cap on open connections. */
  tooManyConnections: 4429,
  /** A failure of the service (the chats service did not answer): reconnect later. */
  unavailable: 1011,
} as const;

/** How the seed's profile turns a /chat event for this connection into its own frames. */
export type EventRenderer = (event: string, payload: unknown) => void;

/**
 * One plain-WebSocket client, as a member of the /chat namespace's rooms (CompatHub): what Socket.IO would emit to
 * a socket here is handed to the profile's renderer, which writes the seed's frames. It also stands in for a
 * Socket.IO socket where the gateway's services take one (presence, SocketSessions): `id`, `data`, `connected`,
 * `emit`, `disconnect`, and nothing else of a socket's is used by them.
 *
 * Frames from the client are handled one after another, in order (a client's messages are stored in the order it
 * sent them); at most `maxQueued` wait, beyond which a frame is answered `Service busy, retry later` at once.
 */
export class CompatConnection implements RoomMember {
  readonly id = `ws-${randomBytes(12).toString('base64url')}`;
  readonly data: SocketData;
  readonly client = { writeToEngine(): void {} };
  private renderer: EventRenderer = () => {};
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly hub: CompatHub,
    data: SocketData,
    private readonly limits: { maxQueued: number; maxBufferedBytes: number },
  ) {
    this.data = data;
  }

  get connected(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get socket(): WebSocket {
    return this.ws;
  }

  get userId(): number {
    return this.data.userId;
  }

  /** This connection where a service expects a Socket.IO socket (only the members listed above are used). */
  asSocket(): Socket {
    return this as unknown as Socket;
  }

  render(renderer: EventRenderer): void {
    this.renderer = renderer;
  }

  // ---- RoomMember: what the adapter calls ------------------------------------------------------------------------

  notifyOutgoingListeners(packet: { type: number; data?: unknown[] }): void {
    // Event packets only (type 2); `data` is [event, payload].
    if (packet.type === 2 && packet.data) this.renderer(packet.data[0] as string, packet.data[1]);
  }

  join(rooms: string | string[]): void {
    this.hub.join(this.id, Array.isArray(rooms) ? rooms : [rooms]);
  }

  leave(room: string): void {
    this.hub.leave(this.id, room);
  }

  disconnect(): void {
    this.close(CloseCode.unauthorized, 'disconnected');
  }

  // ---- what services call --------------------------------------------------------------------------------------

  emit(event: string, payload: unknown): boolean {
    this.renderer(event, payload);
    return true;
  }

  /**
   * Writes one JSON frame. A client that stopped reading (over SOCKET_MAX_BUFFERED_BYTES waiting) is cut off, as
   * the Socket.IO side drops its slow consumers; it reconnects and is sent the recent history again.
   */
  send(frame: unknown): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.ws.close(CloseCode.slowConsumer, 'too slow');
      this.ws.terminate();
      return;
    }
    this.ws.send(JSON.stringify(frame));
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, reason);
    }
  }

  /**
   * Runs `handle` after the frames before it; `onBusy` at once instead when `maxQueued` are waiting already.
   * A failure is the handler's to report (it never stops the queue).
   */
  enqueue(handle: () => Promise<void>, onBusy: (message: string) => void): void {
    if (this.queued >= this.limits.maxQueued) return onBusy(ErrorMessages.serviceBusy);
    this.queued++;
    this.queue = this.queue
      .then(() => (this.connected ? handle() : undefined))
      .catch(() => undefined)
      .finally(() => this.queued--);
  }
}
