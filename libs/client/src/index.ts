export { isRetryableRefusal, isTransient, ParleyClient, ParleySendError } from './client.js';
export type {
  ChatSocket,
  ConnectionState,
  ParleyClientEvents,
  ParleyClientOptions,
  SendOptions,
  StateChange,
} from './client.js';
export { ParleyAuth, type AuthOptions } from './auth.js';
export { ParleyApiError, ParleyRest, type GetToken, type HistoryQuery, type RestOptions } from './rest.js';
export { MessageSequencer, type SeqGap } from './sequencer.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { Emitter } from './emitter.js';
export { decodeJwt, tokenExpiresAt, tokenUserId, uuid } from './util.js';
