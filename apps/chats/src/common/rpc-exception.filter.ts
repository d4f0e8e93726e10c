import { Catch, Logger, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { ErrorCode, ErrorMessages, type RpcErrorBody } from '@parley/contracts';
import { throwError, type Observable } from 'rxjs';
import { DomainError } from './domain.error.js';
import { pgCode } from './rows.js';

/** Postgres SQLSTATE classes that mean "the database is not there right now", not "the request is wrong". */
const UNAVAILABLE = /^(08|57P0|53)/;
/** query_canceled: the statement ran past statement_timeout (DB_STATEMENT_TIMEOUT_MS). */
const STATEMENT_TIMEOUT = '57014';

const unavailable: RpcErrorBody = {
  status: 503,
  code: 'DATABASE_UNAVAILABLE',
  message: 'The database is unavailable; retry later',
};
const busy: RpcErrorBody = { status: 503, code: ErrorCode.ServiceBusy, message: ErrorMessages.serviceBusy };

/** The one place where anything a handler throws becomes the error body the gateway maps to HTTP or WS. */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => toRpcErrorBody(exception));
  }
}

const logger = new Logger('RpcErrorFilter');

/** What the gateway is told of a failure: the domain error as it is, the database's trouble as 503, else 500. */
export function toRpcErrorBody(exception: unknown): RpcErrorBody {
  if (exception instanceof DomainError) return exception.toRpc();
  const code = pgCode(exception);
  const message = exception instanceof Error ? exception.message : String(exception);
  // Saturation, not failure: a statement past its timeout, or no pooled connection free in time.
  if (code === STATEMENT_TIMEOUT || /timeout exceeded when trying to connect/i.test(message)) {
    logger.warn(`Database saturated: ${message}`);
    return busy;
  }
  if (
    (code !== undefined && (UNAVAILABLE.test(code) || code === 'ECONNREFUSED' || code === 'ETIMEDOUT')) ||
    /Connection terminated|connect ECONNREFUSED/i.test(message)
  ) {
    logger.warn(`Database unavailable: ${message}`);
    return unavailable;
  }
  logger.error(exception instanceof Error ? (exception.stack ?? message) : message);
  return { status: 500, code: 'INTERNAL', message: 'Internal server error' };
}
