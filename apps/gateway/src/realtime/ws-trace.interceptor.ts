import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { runWithTraceId, traceIdFrom } from '@parley/observability';
import { PinoLogger } from 'nestjs-pino';
import { Observable } from 'rxjs';
import type { Socket } from 'socket.io';

/**
 * Each Socket.IO event is handled under a trace id of its own: its log lines carry it (with the event and user),
 * and so do the RPCs it makes, so the chats service logs the same id.
 */
@Injectable()
export class WsTraceInterceptor implements NestInterceptor {
  constructor(private readonly logger: PinoLogger) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const ws = context.switchToWs();
    const userId = (ws.getClient<Socket>().data as { userId?: number }).userId;
    const traceId = traceIdFrom(undefined);
    const bindings = { traceId, event: ws.getPattern(), userId };
    return new Observable((subscriber) =>
      runWithTraceId(traceId, () =>
        this.logger.runInContext(() => next.handle().subscribe(subscriber), { bindings }),
      ),
    );
  }
}
