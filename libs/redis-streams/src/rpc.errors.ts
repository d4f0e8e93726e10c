/**
 * Errors the client raises itself (the server's own errors arrive as whatever it serialized). All carry a
 * `status` so that HTTP and WebSocket layers can map them like any other RPC error.
 */
export class RpcTimeoutError extends Error {
  readonly status = 504;
  readonly code = 'RPC_TIMEOUT';
  constructor(
    readonly pattern: string,
    readonly timeoutMs: number,
  ) {
    super(`No reply to "${pattern}" within ${timeoutMs} ms: no instance of the service answered`);
    this.name = 'RpcTimeoutError';
  }
}

export class RpcUnavailableError extends Error {
  readonly status = 503;
  readonly code = 'RPC_UNAVAILABLE';
  constructor(
    readonly pattern: string,
    cause: unknown,
  ) {
    super(
      `Could not send "${pattern}": Redis is unreachable (${cause instanceof Error ? cause.message : String(cause)})`,
    );
    this.name = 'RpcUnavailableError';
  }
}

/** What the caller is told when a request is refused for overload, by the client or by a consumer. */
export const RPC_BUSY_MESSAGE = 'Service busy, retry later';

/** The client already waits for `maxInFlight` replies: the request is refused without being sent. */
export class RpcBusyError extends Error {
  readonly status = 503;
  readonly code = 'RPC_BUSY';
  constructor(readonly pattern: string) {
    super(RPC_BUSY_MESSAGE);
    this.name = 'RpcBusyError';
  }
}

/**
 * Errors a consumer answers on its own rather than through a handler. They travel as JSON, so the caller receives
 * these plain objects (not Error instances).
 */
export interface RpcErrorBody {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** Refused before any work: it waited too long in the stream, or could not be handled before its deadline. */
export const SERVICE_BUSY_ERROR = Object.freeze({
  status: 503,
  code: 'SERVICE_BUSY',
  message: RPC_BUSY_MESSAGE,
} as const) satisfies RpcErrorBody;

/** The handler did not answer within `handlerTimeoutMs` (or the request's deadline); its late result is dropped. */
export const HANDLER_TIMEOUT_ERROR = Object.freeze({
  status: 504,
  code: 'HANDLER_TIMEOUT',
  message: 'The service took too long to answer; retry later',
} as const) satisfies RpcErrorBody;

/** Every consumer that took the request died before answering it: it was set aside in the dead-letter stream. */
export const DEAD_LETTERED_ERROR = Object.freeze({
  status: 500,
  code: 'DEAD_LETTERED',
  message: 'Internal server error',
} as const) satisfies RpcErrorBody;
