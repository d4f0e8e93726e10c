import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ClientEvent, ErrorCode, ErrorMessages, isRpcErrorBody, ServerEvent } from '@parley/contracts';
import { RpcBusyError, RpcTimeoutError, RpcUnavailableError } from '@parley/redis-streams';
import type { Socket } from 'socket.io';
import { AppError } from '../common/app.error.js';

/**
 * The one Socket.IO exception filter: turns any failure into the contract's error string, answers the ack with
 * `{success: false, error}` and emits the seed's event (`message-error` for send-message, `error` otherwise), so
 * clients with or without callbacks see it. The socket stays connected.
 */
@Catch()
export class WsExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const [socket, data, ack, pattern] = host.getArgs<[Socket, unknown, unknown, string]>();
    answerWithError(socket, pattern, data, ack, exception);
  }
}

const logger = new Logger('WS');

/**
 * The failure of event `pattern` as the contract tells it: `{success: false, error}` to the ack, and `message-error`
 * (send-message) or `error` (any other event). Also used by handlers outside Nest's pipeline (MessagesGateway).
 */
export function answerWithError(
  socket: Socket,
  pattern: string,
  data: unknown,
  ack: unknown,
  exception: unknown,
): void {
  const error = socketErrorMessage(exception, pattern);
  if (typeof ack === 'function') (ack as (r: unknown) => void)({ success: false, error });
  if (pattern === ClientEvent.SendMessage) {
    const cmid = (data as { client_message_id?: unknown } | null)?.client_message_id;
    socket.emit(ServerEvent.MessageError, {
      error,
      client_message_id: typeof cmid === 'string' ? cmid : null,
    });
  } else {
    socket.emit(ServerEvent.Error, { message: error });
  }
}

/**
 * The contract's string for a failure of event `pattern` (a Socket.IO event name; the plain-WebSocket edges pass
 * the event theirs stands for).
 */
export function socketErrorMessage(exception: unknown, pattern: string): string {
  if (exception instanceof AppError) return exception.message;
  if (exception instanceof HttpException) {
    // The validation pipe's errors: class-validator's messages, joined as the seed documents them.
    const body = exception.getResponse() as { message?: string | string[] } | string;
    const message = typeof body === 'string' ? body : body.message;
    return Array.isArray(message) ? message.join(', ') : (message ?? exception.message);
  }
  if (
    exception instanceof RpcBusyError ||
    exception instanceof RpcTimeoutError ||
    exception instanceof RpcUnavailableError
  )
    return exception.message;
  if (isRpcErrorBody(exception)) {
    if (exception.code === ErrorCode.NotParticipant) {
      return pattern === ClientEvent.JoinConversation
        ? ErrorMessages.notParticipantJoin
        : ErrorMessages.unauthorized;
    }
    return exception.message;
  }
  logger.error(
    exception instanceof Error ? (exception.stack ?? exception.message) : JSON.stringify(exception),
  );
  return 'Internal server error';
}
