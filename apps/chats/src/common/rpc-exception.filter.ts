import { Catch, Logger, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import type { RpcErrorBody } from '@parley/contracts';
import { throwError, type Observable } from 'rxjs';
import { DomainError } from './domain.error.js';

/** Postgres SQLSTATE classes that mean "the database is not there right now", not "the request is wrong". */
const UNAVAILABLE = /^(08|57P0|53)/;

/** The one place where anything a handler throws becomes the error body the gateway maps to HTTP or WS. */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('RpcErrorFilter');

  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => this.toBody(exception));
  }

  private toBody(exception: unknown): RpcErrorBody {
    if (exception instanceof DomainError) return exception.toRpc();
    const code = (exception as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (UNAVAILABLE.test(code) || code === 'ECONNREFUSED' || code === 'ETIMEDOUT')
    ) {
      this.logger.warn(`Database unavailable: ${String((exception as Error).message)}`);
      return {
        status: 503,
        code: 'DATABASE_UNAVAILABLE',
        message: 'The database is unavailable; retry later',
      };
    }
    if (
      exception instanceof Error &&
      /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(
        exception.message,
      )
    ) {
      this.logger.warn(`Database unavailable: ${exception.message}`);
      return {
        status: 503,
        code: 'DATABASE_UNAVAILABLE',
        message: 'The database is unavailable; retry later',
      };
    }
    this.logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    return { status: 500, code: 'INTERNAL', message: 'Internal server error' };
  }
}
