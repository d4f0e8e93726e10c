import {
  CHAT_NAMESPACE,
  ErrorMessages,
  type Ack,
  type ClientToServerEvents,
  type Conversation,
  type Id,
  type JoinConversationAck,
  type MarkReadAck,
  type Message,
  type MessagesReadEvent,
  type MessageType,
  type RecentMessagesEvent,
  type SendMessageAck,
  type ServerToClientEvents,
  type UserTypingEvent,
} from '@parley/contracts/wire';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { ParleyApiError, ParleyRest, type GetToken } from './rest.js';
import { isNewerToken, SocketReauth, type ReauthHost } from './reauth.js';
import { MessageSequencer, type SeqGap } from './sequencer.js';
import { cancellableSleep, tokenUserId, uuid, type Timer } from './util.js';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface StateChange {
  state: ConnectionState;
  /** The gateway of the current or next attempt. */
  url?: string;
  /** Failed attempts since the last connection. */
  attempt?: number;
  /** `reconnecting`: how long until the next attempt (ms). */
  delayMs?: number;
  /**
   * What made the last attempt fail, or why the client closed: `Unauthorized` when it cannot get a token,
   * `Session ended` when the server ended the session (a logout, here or on another device).
   */
  error?: string;
}

export interface ParleyClientEvents {
  /** A message of a joined conversation: in seq order per conversation, each exactly once (yours included). */
  message: (message: Message) => void;
  state: (change: StateChange) => void;
  /** A joined (or re-joined) conversation; `hasOlder`: history lies before the first message delivered. */
  joined: (event: { conversationId: Id; lastSeq: number; lastReadSeq: number; hasOlder: boolean }) => void;
  presence: (event: { userId: Id; online: boolean }) => void;
  /** Someone else started or stopped typing (stops by itself when their "typing" refreshes stop coming). */
  typing: (event: UserTypingEvent) => void;
  /** Your unread count of a conversation changed. */
  unread: (event: { conversationId: Id; count: number }) => void;
  /** A read mark moved: yours (from any of your devices) or the other participant's ("seen"). */
  read: (event: MessagesReadEvent) => void;
  /** A conversation changed (new activity): for a live conversation list. `unread_count` is yours. */
  conversation: (conversation: Conversation) => void;
  /** Messages that could not be recovered (only when REST is unreachable for long): they were skipped. */
  gap: (event: SeqGap & { conversationId: Id }) => void;
  /** Something failed that the client works around (a re-join refused, a catch-up fetch failed…). */
  error: (error: Error) => void;
}

export interface ParleyClientOptions {
  /** The gateway (origin, e.g. `https://chat.example.com`, or `''` for the page's own origin). */
  url?: string;
  /** Several gateways (no load balancer): the client moves to the next one when a connection fails. */
  urls?: string[];
  /** Start at a random entry of `urls` (spreads clients over gateways). Default false. */
  shuffleUrls?: boolean;
  /**
   * The access token for each connection attempt and each re-authentication; `forceRefresh` after the server
   * refused one, or when the one it returned is no newer than the one the socket already has.
   */
  getToken: GetToken;
  /**
   * Re-authenticate the open socket this many seconds before its token expires (the server closes a socket whose
   * token expired). Tokens that live less than twice this are re-authenticated at 80% of their remaining life.
   * Default 60.
   */
  reauthSkewSeconds?: number;
  /** Your user id (`sender_id`, `userId` in payloads). Default: the `sub` of the token. */
  userId?: Id;
  /** REST for catch-ups over 100 messages and for gaps. Default: a ParleyRest on the connected gateway. */
  rest?: ParleyRest;
  reconnect?: BackoffOptions;
  /**
   * Waits between retries of what the server refused for now (`Rate limit exceeded`, `Service busy, retry later`,
   * no chats instance answering): sends, joins, mark-read, authenticate. Default `{initialDelayMs: 250,
   * maxDelayMs: 10000}` (factor 2, jitter 0.5).
   */
  retry?: BackoffOptions;
  /** How long a connection attempt may take (ms). Default 10 000. */
  connectTimeoutMs?: number;
  /** How long to wait for an acknowledgement before retrying (ms). Default 5 000. */
  ackTimeoutMs?: number;
  /**
   * A send is given up (its promise rejects) after this many tries while connected that got no answer or an
   * `Internal server error`. Refusals for now (rate limit, busy) do not count: they are retried until they pass.
   * Default 5.
   */
  maxSendAttempts?: number;
  /** How long an out-of-order message may wait for the ones before it before they are fetched (ms). Default 2 000. */
  gapTimeoutMs?: number;
  typing?: {
    /** `typing(…)` stops by itself after this long without another call (ms). Default 3 000. */
    idleMs?: number;
    /** While typing goes on, "typing" is re-sent this often so others' indicators stay on (ms). Default 3 000. */
    refreshMs?: number;
    /** Another user's indicator turns off when no refresh came for this long (ms). Default 6 000. */
    expireMs?: number;
  };
  /** Passed to socket.io-client's `io()` (default transports: WebSocket only; polling needs sticky sessions). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
  /** [0, 1) for the jitter; tests replace it. */
  random?: () => number;
}

export interface SendOptions {
  type?: MessageType;
  /** The idempotency key; default a new UUID. A retry with the same key never creates a second message. */
  clientMessageId?: string;
}

/** A send that failed for good: the server refused it (`error` is the contract's string) or never answered. */
export class ParleySendError extends Error {
  override readonly name = 'ParleySendError';

  constructor(
    message: string,
    readonly clientMessageId: string,
  ) {
    super(message);
  }
}

interface OutgoingSend {
  conversation_id: Id;
  message_type: MessageType;
  content: string;
  client_message_id: string;
  /** Tries that got no answer or an unexpected error (they count towards `maxSendAttempts`). */
  attempts: number;
  /** Refusals for now (they do not count). */
  refusals: number;
  resolve: (message: Message) => void;
  reject: (error: Error) => void;
}

interface JoinedConversation {
  id: Id;
  sequencer: MessageSequencer;
  /** What the join being answered asked for: the latest messages, or those after a seq (a catch-up). */
  mode: 'latest' | 'since';
  catchingUp: boolean;
  /** The first join found more history than it delivered. */
  hasOlder: boolean;
  gapTimer?: Timer;
  gapFailures: number;
  waiters: Array<{ resolve: () => void; reject: (error: Error) => void }>;
}

interface ReadState {
  lastSeq: number;
  /** Your read mark; undefined until the server told it. */
  readSeq?: number;
  /** Other participants' read marks. */
  marks: Map<Id, number>;
  unread?: number;
}

interface TypingOut {
  active: boolean;
  sentAt: number;
  idle?: Timer;
}

export type RequestResult<A> = { ack: A } | 'timeout' | 'disconnected';

const DEFAULT_RETRY: BackoffOptions = { initialDelayMs: 250, maxDelayMs: 10_000 };

/**
 * A Parley chat client over socket.io-client, for browsers and Node. It reconnects by itself (exponential
 * backoff with jitter, moving through `urls`, refreshing the token on `Unauthorized`), re-joins your
 * conversations with `since_seq` and delivers every message once and in seq order, queues sends while offline
 * and retries them with the same `client_message_id`, and keeps presence, typing and unread counts current.
 */
export class ParleyClient extends Emitter<ParleyClientEvents> {
  private readonly urls: string[];
  private urlIndex = 0;
  private socket?: ChatSocket;
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

  private readonly outbox: OutgoingSend[] = [];
  private flushing = false;
  private readonly joined = new Map<Id, JoinedConversation>();
  private readonly reads = new Map<Id, ReadState>();
  private readonly pendingReads = new Map<Id, number | undefined>();
  private readRetryTimer?: Timer;
  private readRetries = 0;
  private readonly onlineUsers = new Set<Id>();
  private readonly typingOut = new Map<Id, TypingOut>();
  private readonly typingIn = new Map<string, Timer>();
  private connectWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  constructor(private readonly options: ParleyClientOptions) {
    super();
    const urls = options.urls ?? (options.url !== undefined ? [options.url] : []);
    if (urls.length === 0) throw new Error('ParleyClient needs `url` or `urls`');
    this.urls = urls.map((u) => u.replace(/\/+$/, ''));
    if (options.shuffleUrls) this.urlIndex = Math.floor(this.random() * this.urls.length);
    this.me = options.userId;
  }

  // ---- connection -------------------------------------------------------------------------------------------

  get state(): ConnectionState {
    return this.currentState;
  }

  get connected(): boolean {
    return this.currentState === 'connected';
  }

  /** `close()` was called (or no token could be had). */
  get closed(): boolean {
    return this.currentState === 'closed';
  }

  /** Your user id, once known (from the option or the first token). */
  get userId(): Id | undefined {
    return this.me;
  }

  /** The gateway of the current connection (or of the next attempt). */
  get url(): string {
    return this.urls[this.urlIndex % this.urls.length]!;
  }

  /**
   * Starts connecting (and keeps reconnecting until `close()`). Resolves once connected; rejects only when the
   * client closes first (e.g. the token source failed with 401: the user must log in again).
   */
  connect(): Promise<void> {
    if (this.currentState === 'closed') return Promise.reject(new Error('The client is closed'));
    if (this.connected) return Promise.resolve();
    const ready = this.waitForConnection();
    void this.run();
    return ready;
  }

  /** Ends a backoff wait and tries now (e.g. on the browser's `online` event). */
  reconnectNow(): void {
    this.sleeper?.cancel();
  }

  /** Disconnects for good: pending sends and joins reject, timers stop. */
  close(): void {
    if (this.currentState === 'closed') return;
    this.closeWith();
  }

  private closeWith(error?: string): void {
    this.setState({ state: 'closed', error });
    this.sleeper?.cancel();
    this.stopConnectionTimers();
    const socket = this.socket;
    this.socket = undefined;
    socket?.close();
    const reason = new Error(error ? `The client closed: ${error}` : 'The client is closed');
    for (const entry of this.outbox.splice(0)) entry.reject(reason);
    for (const conversation of this.joined.values()) {
      clearTimeout(conversation.gapTimer);
      for (const w of conversation.waiters.splice(0)) w.reject(reason);
    }
    for (const t of this.typingOut.values()) clearTimeout(t.idle);
    for (const t of this.typingIn.values()) clearTimeout(t);
    this.typingIn.clear();
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
    this.socket = socket;
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
        if (this.socket === socket) this.socket = undefined;
        resolve(err.message || 'connect_error');
      });
    });
  }

  private onConnected(socket: ChatSocket, token: string): void {
    if (this.socket !== socket || this.currentState === 'closed') {
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
    for (const conversation of this.joined.values()) void this.joinOn(socket, conversation);
    this.sendPendingReads();
    void this.flush();
  }

  private onDisconnected(socket: ChatSocket, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.stopConnectionTimers();
    if (this.currentState === 'closed') return;
    // While disconnected we cannot know who is online; the snapshot after the reconnect tells again.
    for (const userId of [...this.onlineUsers]) this.setOnline(userId, false);
    for (const key of [...this.typingIn.keys()]) this.clearTypingIn(key);
    for (const t of this.typingOut.values()) {
      t.active = false;
      clearTimeout(t.idle);
    }
    // Any gateway will do, and the one that dropped us may be gone: start with the next one.
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    this.setState({ state: 'reconnecting', url: this.url, attempt: 0, error: reason });
    // Wait a jittered moment before the first attempt too: every client of a gateway that died lost it at the
    // same instant, and the gateways left must not get them all at once.
    void this.run(reason);
  }

  /** Server events of one socket (ignored once it is not the current one). */
  private listen(socket: ChatSocket): void {
    const current = () => this.socket === socket;
    socket.on('receive-message', (m) => current() && this.accept(m));
    socket.on('message-sent', (m) => current() && this.accept(m));
    socket.on('recent-messages', (e) => current() && this.onRecent(e));
    socket.on('user:online', ({ userId }) => current() && this.setOnline(userId, true));
    socket.on('user:offline', ({ userId }) => current() && this.setOnline(userId, false));
    socket.on('user-typing', (e) => current() && this.onTyping(e));
    socket.on('messages-read', (e) => current() && this.onRead(e));
    socket.on('conversation-updated', ({ conversation }) => {
      if (!current()) return;
      const state = this.readState(conversation.id);
      state.lastSeq = Math.max(state.lastSeq, conversation.last_seq);
      state.readSeq = Math.max(state.readSeq ?? 0, conversation.last_seq - conversation.unread_count);
      this.emit('conversation', conversation);
      this.emitUnread(conversation.id);
    });
    socket.on('error', (e) => current() && this.onServerError(socket, e.message));
  }

  private onServerError(socket: ChatSocket, message: string): void {
    // Logged out (here or on another device), or the refresh token was replayed: no token of this session will
    // be taken again, so reconnecting is pointless. The user must log in again.
    if (message === ErrorMessages.sessionEnded) return this.closeWith(message);
    // The server disconnects next; the reconnect after that must not present the same token.
    if (message === ErrorMessages.tokenExpired && this.reauth?.socket === socket) {
      this.expiredToken = this.reauth.token;
    }
    this.emit('error', new Error(message));
  }

  /** Timers that belong to one connection: none may fire once it is gone. */
  private stopConnectionTimers(): void {
    this.reauth?.stop();
    this.reauth = undefined;
    clearTimeout(this.readRetryTimer);
    this.readRetryTimer = undefined;
    for (const wait of [...this.retryWaits]) wait.cancel();
  }

  /** A wait before a retry; `false` when a disconnect or close cut it short. */
  private async retryWait(delayMs: number): Promise<boolean> {
    const sleep = cancellableSleep(delayMs);
    this.retryWaits.add(sleep);
    try {
      return await sleep.done;
    } finally {
      this.retryWaits.delete(sleep);
    }
  }

  /** The jittered delay before retry number `attempt` (0 first) of something refused for now. */
  private retryDelay(attempt: number): number {
    return backoffDelay(attempt, { ...DEFAULT_RETRY, ...this.options.retry }, () => this.random());
  }

  /** What SocketReauth needs of this client. */
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

  /** Emits with an acknowledgement; resolves with it, or 'timeout', or 'disconnected'. */
  private request<A>(
    socket: ChatSocket,
    event: keyof ClientToServerEvents,
    payload: object,
  ): Promise<RequestResult<A>> {
    return new Promise((resolve) => {
      if (!socket.connected) return resolve('disconnected');
      let done = false;
      const finish = (result: RequestResult<A>) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.off('disconnect', onDisconnect);
        resolve(result);
      };
      const onDisconnect = () => finish('disconnected');
      const timer = setTimeout(() => finish('timeout'), this.options.ackTimeoutMs ?? 5_000);
      socket.on('disconnect', onDisconnect);
      (socket.emit as (e: string, p: object, ack: (a: A) => void) => void)(event, payload, (ack: A) =>
        finish({ ack }),
      );
    });
  }

  private rest(): ParleyRest {
    if (this.options.rest) return this.options.rest;
    let rest = this.restByUrl.get(this.url);
    if (!rest) {
      rest = new ParleyRest({ baseUrl: this.url, getToken: this.options.getToken });
      this.restByUrl.set(this.url, rest);
    }
    return rest;
  }

  // ---- conversations and messages ---------------------------------------------------------------------------

  /**
   * Joins a conversation (now and after every reconnect) and delivers its messages as `message` events.
   * The first join delivers the latest 50 (older ones: `ParleyRest.messages(id, {before_seq})`), or, with
   * `sinceSeq`, everything after that seq. Resolves once the server confirmed the join.
   */
  join(conversationId: Id, options: { sinceSeq?: number } = {}): Promise<void> {
    let conversation = this.joined.get(conversationId);
    if (!conversation) {
      conversation = {
        id: conversationId,
        sequencer: new MessageSequencer(),
        mode: 'latest',
        catchingUp: false,
        hasOlder: false,
        gapFailures: 0,
        waiters: [],
      };
      this.joined.set(conversationId, conversation);
    }
    if (options.sinceSeq !== undefined)
      this.deliver(conversation, conversation.sequencer.start(options.sinceSeq));
    const joined = conversation;
    const confirmed = new Promise<void>((resolve, reject) => joined.waiters.push({ resolve, reject }));
    if (this.socket?.connected) void this.joinOn(this.socket, conversation);
    return confirmed;
  }

  /** Stops receiving a conversation's messages (and no longer re-joins it). */
  async leave(conversationId: Id): Promise<void> {
    const conversation = this.joined.get(conversationId);
    if (!conversation) return;
    this.joined.delete(conversationId);
    clearTimeout(conversation.gapTimer);
    for (const w of conversation.waiters.splice(0)) w.reject(new Error('Left the conversation'));
    if (this.socket?.connected) await this.request(this.socket, 'leave-conversation', { conversationId });
  }

  /** The conversations joined (and re-joined after reconnects). */
  get conversations(): Id[] {
    return [...this.joined.keys()];
  }

  /** The highest seq delivered for a joined conversation (nothing missing before it). */
  lastSeq(conversationId: Id): number | undefined {
    return this.joined.get(conversationId)?.sequencer.lastSeq;
  }

  private async joinOn(socket: ChatSocket, conversation: JoinedConversation): Promise<void> {
    let refusals = 0;
    for (let attempt = 1; ; attempt++) {
      const since = conversation.sequencer.lastSeq;
      conversation.mode = since === undefined ? 'latest' : 'since';
      conversation.catchingUp = true;
      const result = await this.request<JoinConversationAck>(socket, 'join-conversation', {
        conversationId: conversation.id,
        userId: this.me,
        ...(since === undefined ? {} : { since_seq: since }),
      });
      if (this.joined.get(conversation.id) !== conversation) return; // left meanwhile
      if (result === 'disconnected') return; // re-joined after the reconnect
      if (result === 'timeout') {
        if (attempt < 3) continue;
        this.emit('error', new Error(`join-conversation ${conversation.id}: no answer`));
        socket.disconnect(); // a connection that does not answer is replaced (the reconnect re-joins)
        return;
      }
      const ack = result.ack;
      if (!ack.success && isRetryableRefusal(ack.error)) {
        // Refused for now, not for good: the conversation stays joined and the join is tried again. (An answer:
        // the count of unanswered tries starts over.)
        attempt = 0;
        await this.retryWait(this.retryDelay(refusals++));
        if (this.socket !== socket || !socket.connected) return; // re-joined after the reconnect
        if (this.joined.get(conversation.id) !== conversation) return;
        continue;
      }
      if (!ack.success) {
        this.joined.delete(conversation.id);
        const error = new Error(ack.error);
        for (const w of conversation.waiters.splice(0)) w.reject(error);
        this.emit('error', error);
        return;
      }
      const state = this.readState(conversation.id);
      state.lastSeq = Math.max(state.lastSeq, ack.last_seq);
      state.readSeq = Math.max(state.readSeq ?? 0, ack.last_read_seq);
      this.emitUnread(conversation.id);
      // recent-messages came before this ack: the catch-up is delivered (or being paged in over REST).
      this.emit('joined', {
        conversationId: conversation.id,
        lastSeq: ack.last_seq,
        lastReadSeq: ack.last_read_seq,
        hasOlder: conversation.hasOlder,
      });
      for (const w of conversation.waiters.splice(0)) w.resolve();
      return;
    }
  }

  private onRecent(event: RecentMessagesEvent): void {
    const conversation = this.joined.get(event.conversationId);
    if (!conversation) return;
    const first = event.messages[0];
    if (!conversation.sequencer.started) {
      // The latest messages: delivery starts with the first of them (what lies before is history, over REST).
      this.deliver(conversation, conversation.sequencer.start(first ? first.seq - 1 : 0));
      conversation.hasOlder = event.has_more;
    }
    for (const m of event.messages) this.deliver(conversation, conversation.sequencer.push(m));
    if (conversation.mode === 'since' && event.has_more) {
      void this.fetchAfter(conversation); // more than a catch-up holds: page on over REST
    } else {
      conversation.catchingUp = false;
      this.watchGap(conversation);
    }
  }

  /** Fetches, over REST, everything after the last delivered seq (a long catch-up, or a gap that did not fill). */
  private async fetchAfter(conversation: JoinedConversation): Promise<void> {
    conversation.catchingUp = true;
    try {
      for (;;) {
        const after = conversation.sequencer.lastSeq ?? 0;
        const page = await this.rest().messages(conversation.id, { after_seq: after, limit: 100 });
        if (this.joined.get(conversation.id) !== conversation) return;
        for (const m of page.messages) this.deliver(conversation, conversation.sequencer.push(m));
        if (!page.has_more || page.messages.length === 0) break;
      }
      conversation.gapFailures = 0;
    } catch (err) {
      conversation.gapFailures++;
      this.emit('error', err as Error);
    } finally {
      conversation.catchingUp = false;
    }
    this.watchGap(conversation);
  }

  /**
   * A message that arrived before one it follows waits for it: usually a moment (two senders' messages crossing
   * on different gateways). If the gap is still there after `gapTimeoutMs`, fetch it; if that keeps failing,
   * skip it and say so (`gap` event) rather than hold everything back forever.
   */
  private watchGap(conversation: JoinedConversation): void {
    if (conversation.gapTimer || conversation.catchingUp || !conversation.sequencer.gap()) return;
    conversation.gapTimer = setTimeout(() => {
      conversation.gapTimer = undefined;
      if (this.joined.get(conversation.id) !== conversation || this.currentState === 'closed') return;
      const gap = conversation.sequencer.gap();
      if (!gap) return;
      if (conversation.gapFailures >= 3) {
        conversation.gapFailures = 0;
        this.emit('gap', { conversationId: conversation.id, ...gap });
        this.deliver(conversation, conversation.sequencer.skipGap());
        this.watchGap(conversation);
        return;
      }
      void this.fetchAfter(conversation);
    }, this.options.gapTimeoutMs ?? 2_000);
  }

  /** Any message from the server (live, catch-up, ack): through the sequencer of its conversation. */
  private accept(message: Message): void {
    const conversation = this.joined.get(message.conversation_id);
    if (conversation) {
      this.deliver(conversation, conversation.sequencer.push(message));
      this.watchGap(conversation);
    } else {
      this.noteMessage(message);
    }
  }

  private deliver(conversation: JoinedConversation, messages: Message[]): void {
    for (const m of messages) {
      this.noteMessage(m);
      this.clearTypingIn(typingKey(m.conversation_id, m.sender_id));
      this.emit('message', m);
    }
    if (conversation.gapTimer && conversation.sequencer.gap() === undefined) {
      clearTimeout(conversation.gapTimer);
      conversation.gapTimer = undefined;
    }
  }

  /** Read bookkeeping of a message: sending moves the sender's own read mark to it. */
  private noteMessage(m: Message): void {
    const state = this.readState(m.conversation_id);
    state.lastSeq = Math.max(state.lastSeq, m.seq);
    if (m.sender_id === this.me) {
      state.readSeq = Math.max(state.readSeq ?? 0, m.seq);
    } else {
      const before = state.marks.get(m.sender_id) ?? 0;
      if (m.seq > before) state.marks.set(m.sender_id, m.seq);
    }
    this.emitUnread(m.conversation_id);
  }

  /**
   * Sends a message: resolves with the stored message once the server acknowledged it. Sent in order, queued
   * while disconnected, retried with the same `client_message_id` when no ack comes, so never stored twice.
   * Refusals for now (rate limit, service busy, no chats instance answering, Redis down) are retried with a
   * backoff until they pass. Rejects (`ParleySendError`) when the server refuses it for good, or after
   * `maxSendAttempts` tries that got no answer or an `Internal server error`.
   */
  send(conversationId: Id, content: string, options: SendOptions = {}): Promise<Message> {
    this.stopTyping(conversationId);
    return new Promise((resolve, reject) => {
      if (this.currentState === 'closed') return reject(new Error('The client is closed'));
      this.outbox.push({
        conversation_id: conversationId,
        message_type: options.type ?? 'text',
        content,
        client_message_id: options.clientMessageId ?? uuid(),
        attempts: 0,
        refusals: 0,
        resolve,
        reject,
      });
      void this.flush();
    });
  }

  /** Sends not yet acknowledged, oldest first (for a "sending…" state in the UI). */
  get pending(): Array<{ conversationId: Id; content: string; clientMessageId: string }> {
    return this.outbox.map((e) => ({
      conversationId: e.conversation_id,
      content: e.content,
      clientMessageId: e.client_message_id,
    }));
  }

  /** Sends the outbox one message at a time (the server stores a socket's messages in the order they came). */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const socket = this.socket;
        const entry = this.outbox[0];
        if (!entry || !socket?.connected || this.currentState !== 'connected') return;
        const result = await this.request<SendMessageAck>(socket, 'send-message', {
          sender_id: this.me,
          conversation_id: entry.conversation_id,
          message_type: entry.message_type,
          content: entry.content,
          client_message_id: entry.client_message_id,
        });
        if (this.outbox[0] !== entry) continue; // closed meanwhile
        if (result === 'disconnected') continue; // sent again (same id) once reconnected
        const ack = result === 'timeout' ? undefined : result.ack;
        if (ack?.success) {
          this.outbox.shift();
          this.accept(ack.message);
          entry.resolve(ack.message);
          continue;
        }
        const error = ack ? ack.error : 'No acknowledgement';
        if (isRetryableRefusal(error)) {
          await this.retryWait(this.retryDelay(entry.refusals++));
          continue;
        }
        const retryable = result === 'timeout' || isTransient(error);
        entry.attempts++;
        // Two unanswered tries: the connection is likely dead without knowing it yet. Replace it (the send goes
        // out again, with the same client_message_id, after the reconnect).
        if (result === 'timeout' && entry.attempts % 2 === 0) socket.disconnect();
        if (!retryable || entry.attempts >= (this.options.maxSendAttempts ?? 5)) {
          this.outbox.shift();
          entry.reject(new ParleySendError(error, entry.client_message_id));
          continue;
        }
        if (result !== 'timeout') await this.retryWait(this.retryDelay(entry.attempts - 1));
      }
    } finally {
      this.flushing = false;
      // A reconnect may have happened while the last request was pending.
      if (this.outbox.length > 0 && this.socket?.connected && this.currentState === 'connected')
        void this.flush();
    }
  }

  // ---- read marks and unread counts -------------------------------------------------------------------------

  /**
   * Marks a conversation read up to `seq` (default: everything). Your unread count drops at once; the server's
   * answer (and `messages-read`) confirm it. While disconnected it is sent after the reconnect; refused for now
   * (rate limit, busy) it is sent again after a backoff. Either way it resolves at once with the local mark.
   * Rejects when the server refuses it for good.
   */
  async markRead(conversationId: Id, seq?: number): Promise<number> {
    const state = this.readState(conversationId);
    const optimistic = seq ?? state.lastSeq;
    state.readSeq = Math.max(state.readSeq ?? 0, Math.min(optimistic, state.lastSeq));
    this.emitUnread(conversationId);
    const socket = this.socket;
    const result: RequestResult<MarkReadAck> = socket?.connected
      ? await this.request<MarkReadAck>(socket, 'mark-read', {
          conversationId,
          ...(seq === undefined ? {} : { seq }),
        })
      : 'disconnected';
    if (result === 'disconnected') {
      this.queueRead(conversationId, seq); // sent after the reconnect
      return state.readSeq;
    }
    if (result === 'timeout') return state.readSeq; // not worth a retry: the next mark-read carries it
    if (!result.ack.success) {
      if (!isRetryableRefusal(result.ack.error)) throw new Error(result.ack.error);
      this.queueRead(conversationId, seq);
      this.scheduleReadRetry();
      return state.readSeq;
    }
    this.readRetries = 0;
    state.readSeq = Math.max(state.readSeq, result.ack.seq);
    this.emitUnread(conversationId);
    return result.ack.seq;
  }

  /** Remembers a mark-read to send later, merged with one already waiting (`undefined`, everything, wins). */
  private queueRead(conversationId: Id, seq: number | undefined): void {
    const queued = this.pendingReads.get(conversationId);
    const all = seq === undefined || (this.pendingReads.has(conversationId) && queued === undefined);
    this.pendingReads.set(conversationId, all ? undefined : Math.max(seq, queued ?? 0));
  }

  /** One timer for all the refused mark-reads: those refused meanwhile are merged into it, not multiplied. */
  private scheduleReadRetry(): void {
    if (this.readRetryTimer !== undefined) return;
    this.readRetryTimer = setTimeout(() => {
      this.readRetryTimer = undefined;
      this.sendPendingReads();
    }, this.retryDelay(this.readRetries++));
  }

  private sendPendingReads(): void {
    if (!this.socket?.connected) return; // sent after the reconnect
    for (const [conversationId, seq] of [...this.pendingReads]) {
      this.pendingReads.delete(conversationId);
      this.markRead(conversationId, seq).catch((err: unknown) => this.emit('error', err as Error));
    }
  }

  /**
   * Seeds counts from a REST conversation list (`ParleyRest.conversations()`), so that `unread` events and
   * `unreadCount` are right before any event arrived.
   */
  trackConversations(conversations: Conversation[]): void {
    for (const c of conversations) {
      const state = this.readState(c.id);
      state.lastSeq = Math.max(state.lastSeq, c.last_seq);
      state.readSeq = Math.max(state.readSeq ?? 0, c.last_seq - c.unread_count);
      const last = c.last_message;
      if (last && last.sender_id !== this.me) {
        state.marks.set(last.sender_id, Math.max(state.marks.get(last.sender_id) ?? 0, last.seq));
      }
      this.emitUnread(c.id);
    }
  }

  /** Your unread count (undefined until known: after a join, a `conversation-updated`, or `trackConversations`). */
  unreadCount(conversationId: Id): number | undefined {
    return this.reads.get(conversationId)?.unread;
  }

  /**
   * How far `userId` has read (at least up to their own latest message, since sending moves the sender's mark).
   * Known from `messages-read` events and from the messages seen.
   */
  readMark(conversationId: Id, userId: Id): number {
    return this.reads.get(conversationId)?.marks.get(userId) ?? 0;
  }

  private readState(conversationId: Id): ReadState {
    let state = this.reads.get(conversationId);
    if (!state) this.reads.set(conversationId, (state = { lastSeq: 0, marks: new Map() }));
    return state;
  }

  private onRead(event: MessagesReadEvent): void {
    const state = this.readState(event.conversationId);
    if (event.userId === this.me) {
      state.readSeq = Math.max(state.readSeq ?? 0, event.seq);
      this.emitUnread(event.conversationId);
    } else {
      state.marks.set(event.userId, Math.max(state.marks.get(event.userId) ?? 0, event.seq));
    }
    this.emit('read', event);
  }

  private emitUnread(conversationId: Id): void {
    const state = this.readState(conversationId);
    if (state.readSeq === undefined) return;
    const unread = Math.max(0, state.lastSeq - state.readSeq);
    if (unread === state.unread) return;
    state.unread = unread;
    this.emit('unread', { conversationId, count: unread });
  }

  // ---- presence -----------------------------------------------------------------------------------------------

  /** The contacts online now (users who share a conversation with you). */
  get online(): ReadonlySet<Id> {
    return this.onlineUsers;
  }

  isOnline(userId: Id): boolean {
    return this.onlineUsers.has(userId);
  }

  private setOnline(userId: Id, online: boolean): void {
    if (this.onlineUsers.has(userId) === online) return; // presence events are state: repeats change nothing
    if (online) this.onlineUsers.add(userId);
    else this.onlineUsers.delete(userId);
    this.emit('presence', { userId, online });
  }

  // ---- typing ---------------------------------------------------------------------------------------------------

  /**
   * Call on every keystroke: sends "typing" at most once per `refreshMs`, and "stopped" after `idleMs` without a
   * call (or on `stopTyping`, or when you send).
   */
  typing(conversationId: Id): void {
    const now = Date.now();
    let t = this.typingOut.get(conversationId);
    if (!t) this.typingOut.set(conversationId, (t = { active: false, sentAt: -Infinity }));
    if (!t.active || now - t.sentAt >= (this.options.typing?.refreshMs ?? 3_000)) {
      if (this.emitTyping(conversationId, true)) {
        t.active = true;
        t.sentAt = now;
      }
    }
    clearTimeout(t.idle);
    t.idle = setTimeout(() => this.stopTyping(conversationId), this.options.typing?.idleMs ?? 3_000);
  }

  /** Says you stopped typing (if you had started). */
  stopTyping(conversationId: Id): void {
    const t = this.typingOut.get(conversationId);
    if (!t) return;
    clearTimeout(t.idle);
    t.idle = undefined;
    if (!t.active) return;
    t.active = false;
    this.emitTyping(conversationId, false);
  }

  /** Who is typing in a conversation now (others only). */
  typingUsers(conversationId: Id): Id[] {
    const prefix = `${conversationId}:`;
    return [...this.typingIn.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => Number(k.slice(prefix.length)));
  }

  private emitTyping(conversationId: Id, isTyping: boolean): boolean {
    const socket = this.socket;
    if (!socket?.connected || this.me === undefined) return false;
    // Fire and forget: an indicator that misses one update is corrected by the next (or expires).
    void this.request<Ack>(socket, 'typing', { conversationId, userId: this.me, isTyping });
    return true;
  }

  private onTyping(event: UserTypingEvent): void {
    if (event.userId === this.me) return; // your other devices
    const key = typingKey(event.conversationId, event.userId);
    if (!event.isTyping) return this.clearTypingIn(key);
    const had = this.typingIn.has(key);
    clearTimeout(this.typingIn.get(key));
    this.typingIn.set(
      key,
      setTimeout(() => this.clearTypingIn(key), this.options.typing?.expireMs ?? 6_000),
    );
    if (!had) this.emit('typing', event);
  }

  private clearTypingIn(key: string): void {
    const timer = this.typingIn.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.typingIn.delete(key);
    const [conversationId, userId] = key.split(':').map(Number) as [number, number];
    this.emit('typing', { conversationId, userId, isTyping: false });
  }
}

/**
 * Refusals that mean "not now" rather than "no": the rate limit, admission control, no chats instance answering in
 * time (`No reply to "…"`), Redis unreachable (`Could not send "…"`). Sends, joins, mark-read and authenticate
 * refused so are retried with a backoff until they pass.
 */
export function isRetryableRefusal(error: string): boolean {
  return (
    error === ErrorMessages.rateLimited ||
    error === ErrorMessages.serviceBusy ||
    /^No reply to "|^Could not send "/.test(error)
  );
}

/**
 * Failures worth another try with the same client_message_id (the server keeps sends idempotent): the refusals
 * for now of `isRetryableRefusal`, and an unexpected server error (tried `maxSendAttempts` times at most, since
 * it may well happen again).
 */
export function isTransient(error: string): boolean {
  return isRetryableRefusal(error) || error === 'Internal server error';
}

function typingKey(conversationId: Id, userId: Id): string {
  return `${conversationId}:${userId}`;
}
