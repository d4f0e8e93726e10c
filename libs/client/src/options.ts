import type { Id } from '@parley/contracts/wire';
import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import type { BackoffOptions } from './backoff.js';
import type { GetToken, ParleyRest } from './rest.js';

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
   * A send (or an edit, deletion or reaction) is given up (its promise rejects) after this many tries while connected
   * that got no answer or an `Internal server error`. Refusals for now (rate limit, busy) do not count: they are retried until they pass.
   * Default 5.
   */
  maxSendAttempts?: number;
  /** How long an out-of-order message may wait for the ones before it before they are fetched (ms). Default 2 000. */
  gapTimeoutMs?: number;
  /**
   * How long a joined conversation may miss a version (a change heard of, whose event has not come) before the
   * client catches up by version over REST (ms). Short, since broadcasts from two gateways may cross. Default 400.
   */
  versionGapMs?: number;
  /** Messages kept per conversation in the client's store (`message()`, `myReactions()`). Default 2 000. */
  messageStoreLimit?: number;
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
