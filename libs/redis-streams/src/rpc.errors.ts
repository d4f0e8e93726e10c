/**
 * Errors the client raises itself (the server's own errors arrive as whatever it serialized). Both carry a
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
