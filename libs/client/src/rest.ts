import type {
  Attachment,
  AuthResult,
  AuthTokens,
  Conversation,
  ConversationPage,
  Id,
  Member,
  MemberPage,
  Message,
  MessagePage,
  MessageType,
  Metadata,
  ReadMark,
  UnreadSummary,
  User,
} from '@parley/contracts/wire';

/** Supplies an access token. `forceRefresh`: the last one was refused, get a new one (refresh it). */
export type GetToken = (options?: { forceRefresh?: boolean }) => string | Promise<string>;

/** An HTTP error from the API (Nest's `{statusCode, message, error}` body), or a network failure (`status` 0). */
export class ParleyApiError extends Error {
  override readonly name = 'ParleyApiError';

  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
    /** From the `Retry-After` header (e.g. a 429 `Too many attempts, retry later`): wait this long first. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** 401: the credentials or the token were refused. */
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

export interface RestOptions {
  /** The gateway's origin, e.g. `https://chat.example.com`; `''` in a page served by the gateway. */
  baseUrl: string;
  /** For authenticated calls; called before each, and with `forceRefresh` once after a 401. */
  getToken?: GetToken;
  /** Another `fetch` (tests, instrumentation). Default: the global one. */
  fetch?: typeof fetch;
  /** Per-request timeout (ms). Default 15 000. */
  timeoutMs?: number;
}

export interface HistoryQuery {
  /** Messages before this seq (older), newest `limit` of them. */
  before_seq?: number;
  /** Messages after this seq (newer), oldest `limit` of them; 0 is the start. */
  after_seq?: number;
  /**
   * Every message created or changed after this conversation version, in ascending `version` (a catch-up); not
   * with the others.
   */
  after_version?: number;
  /** Page 1 is the newest messages. */
  page?: number;
  /** 1..100, default 20. */
  limit?: number;
}

/** The REST calls a chat front end needs (`/api/...`), typed with the wire contract, over `fetch`. */
export class ParleyRest {
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: RestOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  register(body: { username: string; password: string; display_name?: string }): Promise<AuthResult> {
    return this.request('POST', '/api/auth/register', { body, auth: false });
  }

  login(username: string, password: string): Promise<AuthResult> {
    return this.request('POST', '/api/auth/login', { body: { username, password }, auth: false });
  }

  /** Trades a refresh token for new tokens. The old refresh token is spent: store the new one. */
  refresh(refresh: string): Promise<{ tokens: AuthTokens }> {
    return this.request('POST', '/api/auth/refresh', { body: { refresh }, auth: false });
  }

  /**
   * Ends this login's session on the server (204): its refresh tokens stop working, its access tokens are refused,
   * and its sockets are closed (`Session ended`). `token`: call with this access token instead of `getToken`'s,
   * without the retry after a 401 (`ParleyAuth.logout` does; a 401 then means the session is already over).
   */
  logout(refresh?: string, options: { token?: string } = {}): Promise<void> {
    return this.request('POST', '/api/auth/logout', {
      body: refresh === undefined ? {} : { refresh },
      token: options.token,
    });
  }

  /** Ends every session of the user (every device): see `logout`. */
  logoutAll(options: { token?: string } = {}): Promise<void> {
    return this.request('POST', '/api/auth/logout-all', { token: options.token });
  }

  me(): Promise<User> {
    return this.request('GET', '/api/users/me');
  }

  user(id: Id): Promise<User> {
    return this.request('GET', `/api/users/${id}`);
  }

  /** Exact username, case-insensitive; 404 (`ParleyApiError`) when there is none. */
  findUser(username: string): Promise<User> {
    return this.request('GET', `/api/users${query({ username })}`);
  }

  /** Most recent activity first. */
  conversations(page: { cursor?: string | null; limit?: number } = {}): Promise<ConversationPage> {
    return this.request(
      'GET',
      `/api/chats/conversations${query({ cursor: page.cursor ?? undefined, limit: page.limit })}`,
    );
  }

  conversation(id: Id): Promise<Conversation> {
    return this.request('GET', `/api/chats/conversations/${id}`);
  }

  /** The 1:1 conversation with `receiverId`, created when it does not exist yet. */
  createConversation(receiverId: Id): Promise<Conversation> {
    return this.request('POST', '/api/chats/conversations', { body: { receiver_id: receiverId } });
  }

  /** A group of the caller (its owner) and `member_ids` (other users' ids; `ParleyClient.createGroup` takes names). */
  createGroup(body: { title: string; member_ids: Id[]; metadata?: Metadata }): Promise<Conversation> {
    return this.request('POST', '/api/chats/conversations', { body: { type: 'group', ...body } });
  }

  /** A group's title and/or metadata (owner and admins); recorded as a `group_updated` system message. */
  updateGroup(conversationId: Id, body: { title?: string; metadata?: Metadata }): Promise<Conversation> {
    return this.request('PATCH', `/api/chats/conversations/${conversationId}`, { body });
  }

  /** A page of members (in user id order), each with their read receipt `last_read_seq`. */
  members(conversationId: Id, page: { cursor?: string | null; limit?: number } = {}): Promise<MemberPage> {
    return this.request(
      'GET',
      `/api/chats/conversations/${conversationId}/members${query({ cursor: page.cursor ?? undefined, limit: page.limit })}`,
    );
  }

  /** Every member: `members()` paged to the end (`limit` per page, default 100). */
  async allMembers(conversationId: Id, limit = 100): Promise<Member[]> {
    const all: Member[] = [];
    let cursor: string | null = null;
    do {
      const page: MemberPage = await this.members(conversationId, { cursor, limit });
      all.push(...page.members);
      cursor = page.next_cursor;
    } while (cursor !== null);
    return all;
  }

  /** Adds users to a group (owner and admins); `added` names those who were not members before. */
  addMembers(conversationId: Id, userIds: Id[]): Promise<{ added: Id[] }> {
    return this.request('POST', `/api/chats/conversations/${conversationId}/members`, {
      body: { user_ids: userIds },
    });
  }

  /** Removes a member (owner and admins; admins only by the owner). Your own id: you leave the group. */
  removeMember(conversationId: Id, userId: Id): Promise<void> {
    return this.request('DELETE', `/api/chats/conversations/${conversationId}/members/${userId}`);
  }

  /** Makes a member an admin, or an admin a member again (the owner only). */
  setRole(conversationId: Id, userId: Id, role: 'admin' | 'member'): Promise<Conversation> {
    return this.request('PATCH', `/api/chats/conversations/${conversationId}/members/${userId}`, {
      body: { role },
    });
  }

  /** Unread messages over all of your conversations (for a badge on the app icon). */
  unread(): Promise<UnreadSummary> {
    return this.request('GET', '/api/chats/unread');
  }

  /**
   * Mutes a conversation for you only, until `until` (absent or null: until unmuted). It still counts unread; a
   * muted conversation is one your UI raises no notification for.
   */
  mute(conversationId: Id, until?: Date | string | null): Promise<Conversation> {
    const at = until instanceof Date ? until.toISOString() : until;
    return this.request('PUT', `/api/chats/conversations/${conversationId}/mute`, {
      body: at === undefined ? {} : { until: at },
    });
  }

  unmute(conversationId: Id): Promise<void> {
    return this.request('DELETE', `/api/chats/conversations/${conversationId}/mute`);
  }

  /** Blocks a user: no direct conversation or direct message between you, no presence or typing. Idempotent. */
  block(userId: Id): Promise<void> {
    return this.request('PUT', `/api/users/${userId}/block`);
  }

  unblock(userId: Id): Promise<void> {
    return this.request('DELETE', `/api/users/${userId}/block`);
  }

  /** The users you blocked, oldest block first. */
  blocks(): Promise<{ users: User[] }> {
    return this.request('GET', '/api/users/me/blocks');
  }

  /**
   * History in ascending seq (ascending version with `after_version`); `has_more` says more lie beyond in the
   * direction of paging. Each message carries `my_reactions`, yours.
   */
  messages(conversationId: Id, q: HistoryQuery = {}): Promise<MessagePage> {
    return this.request('GET', `/api/chats/conversations/${conversationId}/messages${query({ ...q })}`);
  }

  sendMessage(
    conversationId: Id,
    body: {
      message_type: MessageType;
      content: string;
      client_message_id?: string;
      reply_to_id?: Id;
      attachments?: Attachment[];
      metadata?: Metadata;
    },
  ): Promise<Message> {
    return this.request('POST', `/api/chats/conversations/${conversationId}/messages`, { body });
  }

  /** A new content for your text message (sets `edited_at`). */
  editMessage(conversationId: Id, messageId: Id, content: string): Promise<Message> {
    return this.request('PATCH', messagePath(conversationId, messageId), { body: { content } });
  }

  /** Deletes a message (yours; in a group, the owner and admins may too): answers the tombstone. Idempotent. */
  deleteMessage(conversationId: Id, messageId: Id): Promise<Message> {
    return this.request('DELETE', messagePath(conversationId, messageId));
  }

  /** Adds your reaction `emoji` (1–32 characters) to a message. Idempotent. */
  addReaction(conversationId: Id, messageId: Id, emoji: string): Promise<Message> {
    return this.request('PUT', reactionPath(conversationId, messageId, emoji));
  }

  /** Takes your reaction `emoji` off a message. Idempotent. */
  removeReaction(conversationId: Id, messageId: Id, emoji: string): Promise<Message> {
    return this.request('DELETE', reactionPath(conversationId, messageId, emoji));
  }

  markRead(conversationId: Id, seq?: number): Promise<ReadMark> {
    return this.request('POST', `/api/chats/conversations/${conversationId}/read`, {
      body: seq === undefined ? {} : { seq },
    });
  }

  private async request<T>(
    method: string,
    path: string,
    opts: { body?: unknown; auth?: boolean; token?: string } = {},
  ): Promise<T> {
    const getToken = opts.token === undefined ? this.options.getToken : undefined;
    const auth = (opts.auth ?? true) && opts.token === undefined;
    if (auth && !getToken) throw new ParleyApiError(401, 'No token source configured');
    let token = auth ? await getToken!() : opts.token;
    let res = await this.fetchOnce(method, path, opts.body, token);
    if (res.status === 401 && auth) {
      token = await getToken!({ forceRefresh: true });
      res = await this.fetchOnce(method, path, opts.body, token);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!res.ok) {
      throw new ParleyApiError(res.status, errorText(body, res.status), body, retryAfter(res.headers));
    }
    return body as T;
  }

  private async fetchOnce(method: string, path: string, body: unknown, token: string | undefined) {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
    } catch (err) {
      throw new ParleyApiError(0, `${method} ${path} failed: ${(err as Error).message}`);
    }
  }
}

function messagePath(conversationId: Id, messageId: Id): string {
  return `/api/chats/conversations/${conversationId}/messages/${messageId}`;
}

function reactionPath(conversationId: Id, messageId: Id, emoji: string): string {
  return `${messagePath(conversationId, messageId)}/reactions/${encodeURIComponent(emoji)}`;
}

function query(params: Record<string, string | number | undefined>): string {
  const pairs = Object.entries(params).filter(
    (entry): entry is [string, string | number] => entry[1] !== undefined,
  );
  if (pairs.length === 0) return '';
  return `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&')}`;
}

/** `Retry-After` in seconds: delta-seconds, or an HTTP date (RFC 9110 allows both). */
function retryAfter(headers: Headers): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function errorText(body: unknown, status: number): string {
  const message = (body as { message?: unknown } | undefined)?.message;
  if (Array.isArray(message)) return message.join(', ');
  if (typeof message === 'string') return message;
  return `HTTP ${status}`;
}
