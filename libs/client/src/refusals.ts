import { ErrorMessages } from '@parley/contracts/wire';

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
