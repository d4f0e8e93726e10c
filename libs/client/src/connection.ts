import { CHAT_NAMESPACE, ErrorMessages, type ClientToServerEvents, type Id } from '@parley/contracts/wire';
import { io } from 'socket.io-client';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { request, type ChatSocket, type RequestResult } from './chat-socket.js';
import type { ConnectionState, Emit, StateChange } from './events.js';
import type { ParleyClientOptions } from './options.js';
import { isNewerToken, SocketReauth, type ReauthHost } from './reauth.js';
import { isRetryableRefusal } from './refusals.js';
import { ParleyApiError, ParleyRest } from './rest.js';
import { cancellableSleep, tokenUserId } from './util.js';

const DEFAULT_RETRY: BackoffOptions = { initialDelayMs: 250, maxDelayMs: 10_000 };

/** What the rest of the client does as connections come and go (ParleyClient wires its parts in). */
export interface ConnectionHooks {
  /** Subscribes to a new socket's server events; `current()` turns false once it is not the client's socket. */
  listen(socket: ChatSocket, current: () => boolean): void;
  /** Connected (again): re-join, send what waited. */
  connected(socket: ChatSocket): void;
  /** The connection dropped and the client reconnects: what only holds while connected is reset. */
  disconnected(): void;
  /** A connection ended (a disconnect or close): timers that belong to it must not fire. */
  stopTimers(): void;
  /** The client closed: what waits rejects with `reason`, timers stop. */
  closed(reason: Error): void;
}

/**
 * The socket and its lifecycle. It reconnects by itself (exponential backoff with jitter, moving through `urls`,
 * refreshing the token on `Unauthorized`), keeps the open socket authenticated (SocketReauth), and gives the other
 * parts of the client what they need to talk over it: `request` (with the ack timeout), and the waits of retries.
 */
export class Connection {
  private readonly urls: string[];
  private urlIndex = 0;
  private currentSocket?: ChatSocket;
  private currentState: ConnectionState = 'idle';
  private failures = 0;
  private forceRefresh = false;
  private running = false;
  private sleeper?: { cancel: () => void };
  private me?: Id;
  private readonly restByUrl = new Map<string, ParleyRest>();
  /** The current socket's re-authentication before its token expires (reauth.ts). */
  private reauth?: SocketReauth;
  /** The token of a socket the server closed with `Token expired`: the next connection needs a newer one. */
  private expiredToken?: string;
  /** Backoff waits of retries: cut short on a disconnect or close, so that no timer outlives the connection. */
  private readonly retryWaits = new Set<{ cancel: () => void }>();
  private connectWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  /** Refusals already handled from their ack, whose `error` event (the server sends both) is not news. */
  private echoes: Array<{ socket: ChatSocket; message: string }> = [];

  constructor(
    private readonly options: ParleyClientOptions,
    private readonly emit: Emit,
    private readonly hooks: ConnectionHooks,
  ) {
    const urls = options.urls ?? (options.url !== undefined ? [options.url] : []);
    if (urls.length === 0) throw new Error('ParleyClient needs `url` or `urls`');
    this.urls = urls.map((u) => u.replace(/\/+$/, ''));
    if (options.shuffleUrls) this.urlIndex = Math.floor(this.random() * this.urls.length);
    this.me = options.userId;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get connected(): boolean {
    return this.currentState === 'connected';
  }

  get closed(): boolean {
    return this.currentState === 'closed';
  }

  /** The socket of the current connection (or attempt); undefined between them. */
  get socket(): ChatSocket | undefined {
    return this.currentSocket;
  }

  get userId(): Id | undefined {
    return this.me;
  }

  get url(): string {
    return this.urls[this.urlIndex % this.urls.length]!;
  }

  connect(): Promise<void> {
    if (this.currentState === 'closed') return Promise.reject(new Error('The client is closed'));
    if (this.connected) return Promise.resolve();
    const ready = this.waitForConnection();
    void this.run();
    return ready;
  }

  reconnectNow(): void {
    this.sleeper?.cancel();
  }

  close(): void {
    if (this.currentState === 'closed') return;
    this.closeWith();
  }

  private closeWith(error?: string): void {
    this.setState({ state: 'closed', error });
    this.sleeper?.cancel();
    this.stopConnectionTimers();
    const socket = this.currentSocket;
    this.currentSocket = undefined;
    socket?.close();
    const reason = new Error(error ? `The client closed: ${error}` : 'The client is closed');
    this.hooks.closed(reason);
    for (const w of this.connectWaiters.splice(0)) w.reject(reason);
  }

  private waitForConnection(): Promise<void> {
    return new Promise((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
  }

  private setState(change: StateChange): void {
    this.currentState = change.state;
    this.emit('state', change);
  }

  private random(): number {
    return (this.options.random ?? Math.random)();
  }

  /** The reconnect loop: one attempt at a time, with a growing, jittered wait between failures. */
  private async run(pauseFirst?: string): Promise<void> {
    if (this.running || this.connected) return;
    this.running = true;
    try {
      if (pauseFirst !== undefined) await this.pause(pauseFirst);
      while (this.currentState !== 'closed') {
        const url = this.url;
        this.setState({
          state: this.failures === 0 && this.currentState === 'idle' ? 'connecting' : 'reconnecting',
          url,
          attempt: this.failures,
        });
        let error: string;
        try {
          const token = await this.connectionToken();
          if (this.closed) return;
          this.me ??= tokenUserId(token);
          const outcome = await this.attempt(url, token);
          if (outcome === 'connected') return;
          error = outcome;
        } catch (err) {
          if (err instanceof ParleyApiError && err.status === 401) {
            this.closeWith(ErrorMessages.unauthorized); // no way to get a token: the user must log in again
            return;
          }
          error = (err as Error).message;
        }
        if (this.closed) return;
        // A refused token is refreshed for the next attempt (on any gateway); a gateway that cannot be reached is
        // left for the next one in the list.
        this.forceRefresh = error === ErrorMessages.unauthorized;
        if (!this.forceRefresh) this.urlIndex = (this.urlIndex + 1) % this.urls.length;
        await this.pause(error);
      }
    } finally {
      this.running = false;
    }
  }

  private async connectionToken(): Promise<string> {
    const forced = this.forceRefresh;
    const token = await this.options.getToken({ forceRefresh: forced });
    // The server said the last socket's token expired: one no newer would be refused at the handshake.
    const expired = this.expiredToken;
    if (forced || expired === undefined || isNewerToken(token, expired)) return token;
    return this.options.getToken({ forceRefresh: true });
  }

  private async pause(error?: string): Promise<void> {
    const delayMs = backoffDelay(this.failures++, this.options.reconnect, () => this.random());
    this.setState({ state: 'reconnecting', url: this.url, attempt: this.failures, delayMs, error });
    const sleep = cancellableSleep(delayMs);
    this.sleeper = sleep;
    await sleep.done;
    this.sleeper = undefined;
  }

  /** One connection attempt: resolves 'connected', or the connect_error's message. */
  private attempt(url: string, token: string): Promise<string> {
    const socket: ChatSocket = io(`${url}${CHAT_NAMESPACE}`, {
      transports: ['websocket'],
      timeout: this.options.connectTimeoutMs ?? 10_000,
      ...this.options.socketOptions,
      auth: { token },
      reconnection: false, // this class reconnects: it also retries after Unauthorized, with a new token
      forceNew: true,
    });
    this.currentSocket = socket;
    this.listen(socket);
    return new Promise((resolve) => {
      socket.once('connect', () => {
        socket.off('connect_error');
        resolve('connected');
        this.onConnected(socket, token);
      });
      socket.once('connect_error', (err: Error) => {
        socket.off('connect');
        socket.close();
        if (this.currentSocket === socket) this.currentSocket = undefined;
        resolve(err.message || 'connect_error');
      });
    });
  }

  private onConnected(socket: ChatSocket, token: string): void {
    if (this.currentSocket !== socket || this.currentState === 'closed') {
      socket.close();
      return;
    }
    this.failures = 0;
    this.forceRefresh = false;
    this.expiredToken = undefined;
    this.setState({ state: 'connected', url: this.url });
    for (const w of this.connectWaiters.splice(0)) w.resolve();
    socket.on('disconnect', (reason) => this.onDisconnected(socket, reason));
    this.reauth = new SocketReauth(socket, token, this.reauthHost, this.options.reauthSkewSeconds ?? 60);
    this.hooks.connected(socket);
  }

  private onDisconnected(socket: ChatSocket, reason: string): void {
    if (this.currentSocket !== socket) return;
    this.currentSocket = undefined;
    this.stopConnectionTimers();
    if (this.currentState === 'closed') return;
    this.hooks.disconnected();
    // Any gateway will do, and the one that dropped us may be gone: start with the next one.
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    this.setState({ state: 'reconnecting', url: this.url, attempt: 0, error: reason });
    // Wait a jittered moment before the first attempt too: every client of a gateway that died lost it at the
    // same instant, and the gateways left must not get them all at once.
    void this.run(reason);
  }

  /** Server events of one socket (ignored once it is not the current one). */
  private listen(socket: ChatSocket): void {
    const current = () => this.currentSocket === socket;
    this.hooks.listen(socket, current);
    socket.on('error', (e) => current() && this.onServerError(socket, e.message));
  }

  private onServerError(socket: ChatSocket, message: string): void {
    // Logged out (here or on another device), or the refresh token was replayed: no token of this session will
    // be taken again, so reconnecting is pointless. The user must log in again.
    if (message === ErrorMessages.sessionEnded) return this.closeWith(message);
    if (message === ErrorMessages.tokenExpired) {
      // The server disconnects next; the reconnect after that must not present the same token.
      if (this.reauth?.socket === socket) this.expiredToken = this.reauth.token;
      return this.emit('error', new Error(message));
    }
    // Any other is most often the echo of a refusal whose ack came too (the server sends both, for clients without
    // callbacks). Both may be read in one go, before the part that awaits the ack has run: look a moment later
    // whether it called the refusal handled (`handledRefusal`).
    setTimeout(() => {
      const echo = this.echoes.findIndex((e) => e.socket === socket && e.message === message);
      if (echo >= 0) this.echoes.splice(echo, 1);
      else if (!this.closed) this.emit('error', new Error(message));
    }, 0);
  }

  /** Timers that belong to one connection: none may fire once it is gone (nor an echo be awaited). */
  private stopConnectionTimers(): void {
    this.echoes = [];
    this.reauth?.stop();
    this.reauth = undefined;
    this.hooks.stopTimers();
    for (const wait of [...this.retryWaits]) wait.cancel();
  }

  // ---- for the other parts of the client ------------------------------------------------------------------------

  /** Emits with an acknowledgement; resolves with it, or 'timeout' (after `ackTimeoutMs`), or 'disconnected'. */
  request<A>(
    socket: ChatSocket,
    event: keyof ClientToServerEvents,
    payload: object,
  ): Promise<RequestResult<A>> {
    return request<A>(socket, event, payload, this.options.ackTimeoutMs ?? 5_000);
  }

  /**
   * A refusal that a part handled from its ack, and that is no problem to report: the `error` event the server
   * sends with it (to clients without callbacks) is not raised as an `error`.
   */
  handledRefusal(socket: ChatSocket, message: string): void {
    this.echoes.push({ socket, message });
  }

  /** A wait before a retry; `false` when a disconnect or close cut it short. */
  async retryWait(delayMs: number): Promise<boolean> {
    const sleep = cancellableSleep(delayMs);
    this.retryWaits.add(sleep);
    try {
      return await sleep.done;
    } finally {
      this.retryWaits.delete(sleep);
    }
  }

  /** The jittered delay before retry number `attempt` (0 first) of something refused for now. */
  retryDelay(attempt: number): number {
    return backoffDelay(attempt, { ...DEFAULT_RETRY, ...this.options.retry }, () => this.random());
  }

  /** REST (for catch-ups and gaps): the `rest` option, or a ParleyRest on the current gateway. */
  rest(): ParleyRest {
    if (this.options.rest) return this.options.rest;
    let rest = this.restByUrl.get(this.url);
    if (!rest) {
      rest = new ParleyRest({ baseUrl: this.url, getToken: this.options.getToken });
      this.restByUrl.set(this.url, rest);
    }
    return rest;
  }

  /** What SocketReauth needs of this connection. */
  private readonly reauthHost: ReauthHost = {
    getToken: (opts) => this.options.getToken(opts),
    request: (socket, event, payload) => this.request(socket, event, payload),
    retryDelay: (attempt) => this.retryDelay(attempt),
    retryWait: (delayMs) => this.retryWait(delayMs),
    close: (error) => this.closeWith(error),
    reconnectWithNewToken: (socket) => {
      this.forceRefresh = true;
      socket.disconnect();
    },
    error: (error) => this.emit('error', error),
    isRetryable: (error) => isRetryableRefusal(error),
  };
}
