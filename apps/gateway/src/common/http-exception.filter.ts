import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { isRpcErrorBody } from '@parley/contracts';
import { RpcBusyError, RpcTimeoutError, RpcUnavailableError } from '@parley/redis-streams';
import type { Response } from 'express';
import { AppError } from './app.error.js';

/**
 * The one HTTP exception filter: Nest's HttpExceptions as Nest renders them, the gateway's own refusals (AppError:
 * rate limits, admission control, auth) and errors from the chats service with the status they chose, RPC
 * transport failures as 503/504, anything else as a logged 500. Every body has Nest's shape
 * `{ statusCode, message, error }`; 429 and 503 carry `Retry-After` when a retry can be timed.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.toResponse(exception);
    if (res.headersSent) return;
    const retryAfter = exception instanceof AppError ? exception.retryAfterSeconds : undefined;
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    res.status(status).json(body);
  }

  /** The status and body an exception is answered with (also used by the plain-HTTP compat routes). */
  toResponse(exception: unknown): { status: number; body: Record<string, unknown> } {
    if (exception instanceof AppError) return shaped(exception.status, exception.message);
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      const body =
        typeof response === 'object'
          ? { ...response }
          : { statusCode: exception.getStatus(), message: response };
      return { status: exception.getStatus(), body };
    }
    if (exception instanceof RpcBusyError) return shaped(exception.status, exception.message);
    if (exception instanceof RpcTimeoutError || exception instanceof RpcUnavailableError) {
      this.logger.warn(exception.message);
      return shaped(exception.status, exception.message);
    }
    if (isRpcErrorBody(exception) && exception.status >= 400 && exception.status < 600) {
      return shaped(exception.status, exception.message);
    }
    // Express's body parser: malformed JSON (400) and bodies over the limit (413).
    const parserStatus = (exception as { status?: unknown; type?: unknown }).status;
    if (typeof (exception as { type?: unknown }).type === 'string' && typeof parserStatus === 'number') {
      return shaped(parserStatus, (exception as Error).message);
    }
    this.logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : JSON.stringify(exception),
    );
    return shaped(HttpStatus.INTERNAL_SERVER_ERROR, 'Internal server error');
  }
}

function shaped(status: number, message: string): { status: number; body: Record<string, unknown> } {
  return { status, body: { statusCode: status, message, error: reasonPhrase(status) } };
}

function reasonPhrase(status: number): string {
  const name = HttpStatus[status];
  return name
    ? name
        .toLowerCase()
        .replace(/(^|_)([a-z])/g, (_, sep: string, c: string) => (sep ? ' ' : '') + c.toUpperCase())
    : 'Error';
}
