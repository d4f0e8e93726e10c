import type { ClientToServerEvents, ServerToClientEvents } from '@parley/contracts';
import { Agent } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { waitFor } from '../../tools/lib/wait.js';

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConnectOptions {
  token?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  reconnection?: boolean;
  /** Engine.IO transports, in order (default WebSocket only; `['polling']`, or `['polling', 'websocket']` to upgrade). */
  transports?: Array<'polling' | 'websocket'>;
  /**
   * The local address to connect from (any of 127.0.0.0/8 on Linux): a load balancer that hashes on the client
   * address (deploy/nginx's) then sees distinct clients, as it would see distinct machines.
   */
  localAddress?: string;
}

/**
 * A real socket.io-client connection to a gateway's /chat namespace (WebSocket transport and no reconnection unless
 * told otherwise).
 */
export function openSocket(baseUrl: string, opts: ConnectOptions = {}): ChatClient {
  // Both transports (xmlhttprequest-ssl's requests and ws's upgrade) connect through the agent.
  const agent = opts.localAddress
    ? new Agent({ localAddress: opts.localAddress, keepAlive: true })
    : undefined;
  return io(`${baseUrl}/chat`, {
    auth: opts.token ? { token: opts.token } : {},
    query: opts.query,
    extraHeaders: opts.headers,
    transports: opts.transports ?? ['websocket'],
    reconnection: opts.reconnection ?? false,
    forceNew: true,
    timeout: 10_000,
    // Typed `string | boolean` by engine.io-client (a browser's view); in Node it is handed to http and ws as is.
    ...(agent ? { agent: agent as unknown as string } : {}),
  });
}

/** Connects and resolves once connected; rejects with the connect_error message. */
export function connect(baseUrl: string, opts: ConnectOptions = {}): Promise<ChatClient> {
  return connected(openSocket(baseUrl, opts));
}

/** Connects and records every event from the first one (events can arrive together with the connection). */
export async function connectRecorded(baseUrl: string, opts: ConnectOptions = {}): Promise<Recorder> {
  const socket = openSocket(baseUrl, opts);
  const recorder = new Recorder(socket);
  await connected(socket);
  return recorder;
}

/** Resolves once `socket` is connected; rejects with the connect_error message. */
export function connected(socket: ChatClient): Promise<ChatClient> {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Records every server event a socket receives, in order. */
export class Recorder {
  readonly events: Array<{ event: string; data: unknown }> = [];

  constructor(readonly socket: ChatClient) {
    socket.onAny((event: string, data: unknown) => this.events.push({ event, data }));
  }

  of<T = unknown>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => e.data as T);
  }

  /** Waits until `count` events of the kind have arrived (and returns them). */
  async wait<T = unknown>(event: string, count = 1, timeoutMs = 10_000): Promise<T[]> {
    await waitFor(
      `${count} "${event}" event(s) (have ${this.of(event).length})`,
      () => this.of(event).length >= count,
      timeoutMs,
    );
    return this.of<T>(event);
  }

  clear(): void {
    this.events.length = 0;
  }
}

/** Emits with an acknowledgement and resolves with it (socket.io's emitWithAck, with a timeout). */
export function request<T>(
  socket: ChatClient,
  event: string,
  payload: unknown,
  timeoutMs = 10_000,
): Promise<T> {
  return (
    socket.timeout(timeoutMs) as unknown as { emitWithAck(e: string, p: unknown): Promise<T> }
  ).emitWithAck(event, payload);
}
