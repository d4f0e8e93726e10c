import type { AuthResult, AuthTokens, User } from '@parley/contracts/wire';
import { ParleyApiError, ParleyRest, type RestOptions } from './rest.js';
import { decodeJwt, tokenExpiresAt, tokenUserId } from './util.js';

export interface AuthOptions extends Pick<RestOptions, 'baseUrl' | 'fetch' | 'timeoutMs'> {
  /** Tokens saved by an earlier session (e.g. from sessionStorage). */
  tokens?: AuthTokens | null;
  /** Called whenever the tokens change (login, each refresh, logout and a refused refresh: `null`): save them here. */
  onChange?: (tokens: AuthTokens | null) => void;
  /** Refresh when the access token expires within this many seconds. Default 60. */
  refreshSkewSeconds?: number;
  /** The clock (ms since the epoch). Default `Date.now`. */
  now?: () => number;
}

/** A logout presents the access token as is unless it expires within this (ms): the request takes time too. */
const LOGOUT_EXPIRY_MARGIN_MS = 5_000;

/**
 * Holds a login's tokens and hands out a valid access token: `getToken` refreshes it shortly before it expires
 * (and when a server refused it), one refresh at a time. Refresh tokens rotate and each works once, so two
 * refreshes racing with the same one would revoke the login: that is why every caller goes through here.
 */
export class ParleyAuth {
  readonly rest: ParleyRest;
  private current: AuthTokens | null;
  private refreshing?: Promise<string>;
  private refreshedAt = -Infinity;
  /** Bumped when the tokens are replaced other than by a refresh: a refresh of older tokens then lands nowhere. */
  private generation = 0;

  constructor(private readonly options: AuthOptions) {
    this.rest = new ParleyRest({
      baseUrl: options.baseUrl,
      fetch: options.fetch,
      timeoutMs: options.timeoutMs,
    });
    this.current = options.tokens ?? null;
  }

  get tokens(): AuthTokens | null {
    return this.current;
  }

  /** The logged-in user's id (from the access token), if logged in. */
  get userId(): number | undefined {
    return this.current ? tokenUserId(this.current.access) : undefined;
  }

  get loggedIn(): boolean {
    return this.current !== null;
  }

  async register(username: string, password: string, displayName?: string): Promise<AuthResult> {
    const result = await this.rest.register({
      username,
      password,
      ...(displayName ? { display_name: displayName } : {}),
    });
    this.replace(result.tokens);
    return result;
  }

  async login(username: string, password: string): Promise<{ user: User; tokens: AuthTokens }> {
    const result = await this.rest.login(username, password);
    this.replace(result.tokens);
    return result;
  }

  /**
   * Ends this session on the server (`POST /api/auth/logout`: its refresh token dies, its sockets close), then
   * forgets the tokens and calls `onChange(null)`, whatever the outcome. Never rejects: resolves `true` when the
   * session is over on the server (ended now, or already), `false` when the server could not be told (network
   * down, throttled…); the tokens are forgotten all the same.
   */
  logout(): Promise<boolean> {
    return this.endSession((tokens) => this.rest.logout(tokens.refresh, { token: tokens.access }));
  }

  /** Ends every session of the user, on every device (`POST /api/auth/logout-all`); otherwise like `logout`. */
  logoutAll(): Promise<boolean> {
    return this.endSession((tokens) => this.rest.logoutAll({ token: tokens.access }));
  }

  /**
   * A valid access token. Pass it as `getToken` to `ParleyRest` and `ParleyClient`. Throws `ParleyApiError` 401
   * when not logged in or when the refresh token was refused (the user must log in again).
   */
  readonly getToken = async (opts: { forceRefresh?: boolean } = {}): Promise<string> => {
    if (this.refreshing) return this.refreshing;
    if (!this.current) throw new ParleyApiError(401, 'Not logged in');
    const now = this.now();
    const exp = decodeJwt(this.current.access)?.exp;
    const skewMs = (this.options.refreshSkewSeconds ?? 60) * 1000;
    const expiring = exp !== undefined && exp * 1000 - skewMs <= now;
    // A refusal of a token we got a moment ago is not the token's fault (e.g. two requests failed with the old
    // one): spending another refresh token would not help.
    const justRefreshed = now - this.refreshedAt < 5_000;
    if (!expiring && !(opts.forceRefresh && !justRefreshed)) return this.current.access;
    return this.startRefresh(this.current.refresh);
  };

  private startRefresh(refreshToken: string): Promise<string> {
    this.refreshing ??= this.refresh(refreshToken).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refresh(refreshToken: string): Promise<string> {
    const generation = this.generation;
    try {
      const { tokens } = await this.rest.refresh(refreshToken);
      // Logged out (or in as someone else) meanwhile: these tokens belong to a login that is gone.
      if (generation !== this.generation) throw new ParleyApiError(401, 'Not logged in');
      this.refreshedAt = this.now();
      this.set(tokens);
      return tokens.access;
    } catch (err) {
      const refused = err instanceof ParleyApiError && err.status === 401; // spent, expired or revoked
      if (refused && generation === this.generation) this.set(null);
      throw err;
    }
  }

  private async endSession(call: (tokens: AuthTokens) => Promise<void>): Promise<boolean> {
    const generation = this.generation;
    try {
      const tokens = await this.liveTokens();
      if (tokens) await call(tokens);
      return true;
    } catch (err) {
      return err instanceof ParleyApiError && err.status === 401; // the session was over already
    } finally {
      // A login that came meanwhile (a slow logout in the background) is another session: keep it.
      if (generation === this.generation) this.replace(null);
    }
  }

  /** The tokens with an access token the server still takes: refreshed first if it has expired. */
  private async liveTokens(): Promise<AuthTokens | null> {
    // One refresh at a time: a running one spends the refresh token we hold, so wait for its successor.
    await this.refreshing?.catch(() => undefined);
    const tokens = this.current;
    if (!tokens) return null;
    const exp = tokenExpiresAt(tokens.access);
    if (exp === undefined || exp - LOGOUT_EXPIRY_MARGIN_MS > this.now()) return tokens;
    await this.startRefresh(tokens.refresh); // a 401 here: the session is over already
    return this.current;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private replace(tokens: AuthTokens | null): void {
    this.generation++;
    this.set(tokens);
  }

  private set(tokens: AuthTokens | null): void {
    this.current = tokens;
    this.options.onChange?.(tokens);
  }
}
