import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { isRpcErrorBody } from '@parley/contracts';
import { RpcTimeoutError, RpcUnavailableError } from '@parley/redis-streams';
import type { Response } from 'express';

/**
 * The one HTTP exception filter: Nest's HttpExceptions as Nest renders them, errors from the chats service with
 * the status it chose, RPC transport failures as 503/504, anything else as a logged 500. Every body has Nest's
 * shape `{ statusCode, message, error }`.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.toResponse(exception);
    if (!res.headersSent) res.status(status).json(body);
  }

  private toResponse(exception: unknown): { status: number; body: Record<string, unknown> } {
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      const body =
        typeof response === 'object'
          ? { ...response }
          : { statusCode: exception.getStatus(), message: response };
      return { status: exception.getStatus(), body };
    }
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
