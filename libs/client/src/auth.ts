import type { AuthResult, AuthTokens, User } from '@parley/contracts/wire';
import { ParleyApiError, ParleyRest, type RestOptions } from './rest.js';
import { decodeJwt, tokenUserId } from './util.js';

export interface AuthOptions extends Pick<RestOptions, 'baseUrl' | 'fetch' | 'timeoutMs'> {
  /** Tokens saved by an earlier session (e.g. from sessionStorage). */
  tokens?: AuthTokens | null;
  /** Called whenever the tokens change (login, each refresh, logout: `null`): save them here. */
  onChange?: (tokens: AuthTokens | null) => void;
  /** Refresh when the access token expires within this many seconds. Default 60. */
  refreshSkewSeconds?: number;
  /** The clock (ms since the epoch). Default `Date.now`. */
  now?: () => number;
}

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
    this.set(result.tokens);
    return result;
  }

  async login(username: string, password: string): Promise<{ user: User; tokens: AuthTokens }> {
    const result = await this.rest.login(username, password);
    this.set(result.tokens);
    return result;
  }

  logout(): void {
    this.set(null);
  }

  /**
   * A valid access token. Pass it as `getToken` to `ParleyRest` and `ParleyClient`. Throws `ParleyApiError` 401
   * when not logged in or when the refresh token was refused (the user must log in again).
   */
  readonly getToken = async (opts: { forceRefresh?: boolean } = {}): Promise<string> => {
    if (this.refreshing) return this.refreshing;
    if (!this.current) throw new ParleyApiError(401, 'Not logged in');
    const now = (this.options.now ?? Date.now)();
    const exp = decodeJwt(this.current.access)?.exp;
    const skewMs = (this.options.refreshSkewSeconds ?? 60) * 1000;
    const expiring = exp !== undefined && exp * 1000 - skewMs <= now;
    // A refusal of a token we got a moment ago is not the token's fault (e.g. two requests failed with the old
    // one): spending another refresh token would not help.
    const justRefreshed = now - this.refreshedAt < 5_000;
    if (!expiring && !(opts.forceRefresh && !justRefreshed)) return this.current.access;
    this.refreshing = this.refresh(this.current.refresh).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  };

  private async refresh(refreshToken: string): Promise<string> {
    try {
      const { tokens } = await this.rest.refresh(refreshToken);
      this.refreshedAt = (this.options.now ?? Date.now)();
      this.set(tokens);
      return tokens.access;
    } catch (err) {
      if (err instanceof ParleyApiError && err.status === 401) this.set(null); // spent, expired or revoked
      throw err;
    }
  }

  private set(tokens: AuthTokens | null): void {
    this.current = tokens;
    this.options.onChange?.(tokens);
  }
}
