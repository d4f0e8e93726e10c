import {
  ClientEvent,
  ErrorMessages,
  type AuthenticateAck,
  type AuthenticatePayload,
} from '@parley/contracts/wire';
import type { ChatSocket, RequestResult } from './chat-socket.js';
import { ParleyApiError, type GetToken } from './rest.js';
import { tokenExpiresAt, type Timer } from './util.js';

/** setTimeout fires at once for longer delays; re-authenticating early is harmless. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a socket's re-authentication needs from the client that owns the socket. */
export interface ReauthHost {
  getToken: GetToken;
  /** Emits with an acknowledgement (the client's own helper, with its ack timeout). */
  request<A>(
    socket: ChatSocket,
    event: typeof ClientEvent.Authenticate,
    payload: object,
  ): Promise<RequestResult<A>>;
  /** The delay before retry number `attempt` of something refused for now, and the wait itself. */
  retryDelay(attempt: number): number;
  retryWait(delayMs: number): Promise<boolean>;
  /** No token can be had: the user must log in again. */
  close(error: string): void;
  /** The server refused the fresh token: reconnect with a refreshed one. */
  reconnectWithNewToken(socket: ChatSocket): void;
  error(error: Error): void;
  /** Whether refusals like this one pass if tried again later (the rate limit, `Service busy`…). */
  isRetryable(error: string): boolean;
}

/**
 * Keeps one open socket authenticated. The server closes a socket when its token expires (`Token expired`); shortly
 * before that (`skewSeconds` before `exp`, or at 80% of the token's life when it lives less than twice that), this
 * hands it a fresh token (`authenticate`) so that the connection, its rooms and its pending requests survive.
 * Refusals for now are retried with a backoff while time remains; `stop()` (a disconnect or close) ends it.
 */
export class SocketReauth {
  /** When the server closes the socket unless it authenticates again (ms since the epoch); undefined: never. */
  private expiresAt?: number;
  private timer?: Timer;
  /** Re-authentications in a row scheduled when, by our clock, the token had already expired. */
  private overdue = 0;
  private stopped = false;

  constructor(
    readonly socket: ChatSocket,
    /** The token the socket is authenticated with now. */
    public token: string,
    private readonly host: ReauthHost,
    private readonly skewSeconds: number,
  ) {
    this.expiresAt = tokenExpiresAt(token);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.expiresAt === undefined) return;
    const remaining = this.expiresAt - Date.now();
    const skewMs = this.skewSeconds * 1000;
    let delay = remaining >= 2 * skewMs ? remaining - skewMs : remaining * 0.8;
    // The server still takes a token our clock says has expired: our clock is ahead. Back off rather than
    // re-authenticate (and refresh) in a tight loop.
    if (remaining <= 0) delay = this.host.retryDelay(this.overdue++);
    else this.overdue = 0;
    this.timer = setTimeout(() => void this.reauthenticate(), Math.min(MAX_TIMER_MS, delay));
  }

  private async reauthenticate(): Promise<void> {
    this.timer = undefined;
    for (let attempt = 0; !this.stopped; attempt++) {
      const outcome = await this.authenticateOnce();
      if (outcome === 'done' || this.stopped) return;
      const delayMs = this.host.retryDelay(attempt);
      if (this.expiresAt !== undefined && Date.now() + delayMs >= this.expiresAt) {
        // No time left: the server closes the socket (`Token expired`) and the reconnect gets a fresh token.
        this.host.error(new Error(`authenticate: ${outcome.error}; the connection ends with its token`));
        return;
      }
      await this.host.retryWait(delayMs);
    }
  }

  /** One try: 'done' (authenticated and rescheduled, or handed over to a reconnect or close), or worth another. */
  private async authenticateOnce(): Promise<'done' | { error: string }> {
    let token: string;
    try {
      token = await this.host.getToken();
      if (!isNewerToken(token, this.token)) token = await this.host.getToken({ forceRefresh: true });
    } catch (err) {
      if (err instanceof ParleyApiError && err.status === 401) {
        if (!this.stopped) this.host.close(ErrorMessages.unauthorized); // the user must log in again
        return 'done';
      }
      return { error: (err as Error).message };
    }
    if (this.stopped) return 'done';
    const payload: AuthenticatePayload = { token };
    const result = await this.host.request<AuthenticateAck>(this.socket, ClientEvent.Authenticate, payload);
    if (this.stopped || result === 'disconnected') return 'done';
    if (result === 'timeout') return { error: 'No acknowledgement' };
    const ack = result.ack;
    if (ack.success) {
      this.token = token;
      const expiresAt = Date.parse(ack.expires_at);
      this.expiresAt = Number.isNaN(expiresAt) ? tokenExpiresAt(token) : expiresAt;
      this.schedule();
      return 'done';
    }
    if (this.host.isRetryable(ack.error)) return { error: ack.error };
    if (ack.error === ErrorMessages.unauthorized) {
      // The new token was refused (revoked, or another user's): start over with a refreshed one.
      this.host.reconnectWithNewToken(this.socket);
      return 'done';
    }
    // Nothing a retry would change; the socket lasts until its token expires, and the reconnect then gets a new one.
    this.host.error(new Error(`authenticate: ${ack.error}`));
    return 'done';
  }
}

/** A token the server would take for longer than `than` (by `exp`; without one, any other token is newer). */
export function isNewerToken(token: string, than: string): boolean {
  if (token === than) return false;
  const [a, b] = [tokenExpiresAt(token), tokenExpiresAt(than)];
  return a === undefined || b === undefined || a > b;
}
