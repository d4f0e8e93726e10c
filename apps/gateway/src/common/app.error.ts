import { ErrorMessages } from '@parley/contracts';

/**
 * A refusal decided in the gateway itself (rate limits, admission control, identity checks), in terms both edges
 * can render: the HTTP filter as `{statusCode, message, error}` with `status` (and `Retry-After`), the Socket.IO
 * filter as the ack's `error` string.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** For 429 and 503: when a retry can succeed (seconds), sent as `Retry-After`. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const AppErrors = {
  unauthorized: (message: string = ErrorMessages.unauthorized) => new AppError(401, message),
  rateLimited: (retryAfterSeconds?: number) =>
    new AppError(429, ErrorMessages.rateLimited, retryAfterSeconds),
  tooManyAttempts: (retryAfterSeconds: number) =>
    new AppError(429, ErrorMessages.tooManyAttempts, retryAfterSeconds),
  busy: () => new AppError(503, ErrorMessages.serviceBusy, 1),
  pushDisabled: () => new AppError(404, ErrorMessages.pushDisabled),
};
