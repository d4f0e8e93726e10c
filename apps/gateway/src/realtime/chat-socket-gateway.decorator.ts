import { applyDecorators, UseFilters, UseInterceptors } from '@nestjs/common';
import { WebSocketGateway } from '@nestjs/websockets';
import { CHAT_NAMESPACE } from '@parley/contracts';
import { SocketAdmissionInterceptor } from './socket-admission.interceptor.js';
import { WsExceptionFilter } from './ws-exception.filter.js';
import { WsTraceInterceptor } from './ws-trace.interceptor.js';

/**
 * The Socket.IO handlers of one feature, on the `/chat` namespace: errors become the contract's strings (ack and
 * error event), each event gets a trace id, and a socket's events in flight are capped. Every feature's
 * gateway shares the one namespace; connections themselves are handled by ChatGateway.
 */
export function ChatSocketGateway(): ClassDecorator {
  return applyDecorators(
    WebSocketGateway({ namespace: CHAT_NAMESPACE }),
    UseFilters(WsExceptionFilter),
    UseInterceptors(WsTraceInterceptor, SocketAdmissionInterceptor),
  );
}
