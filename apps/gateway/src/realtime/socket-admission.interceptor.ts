import {
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { finalize, type Observable } from 'rxjs';
import type { Socket } from 'socket.io';
import { AppErrors } from '../common/app.error.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import type { SocketData } from './socket-auth.js';

/**
 * At most SOCKET_MAX_IN_FLIGHT events of one socket are handled at once; the next one is answered
 * `Service busy, retry later` at once instead of queueing work (RPCs, history reads) behind the others. A client
 * firing 300 joins at once gets a few served and the rest refused, not 300 RPCs.
 */
@Injectable()
export class SocketAdmissionInterceptor implements NestInterceptor {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const socket = context.switchToWs().getClient<Socket>();
    if (!admitEvent(socket, this.config.socketMaxInFlight)) throw AppErrors.busy();
    return next.handle().pipe(finalize(() => releaseEvent(socket)));
  }
}

/** Counts an event of `socket` in, unless `max` are in flight already (then false, nothing counted). */
export function admitEvent(socket: Socket, max: number): boolean {
  const data = socket.data as SocketData;
  const inFlight = data.inFlight ?? 0;
  if (inFlight >= max) return false;
  data.inFlight = inFlight + 1;
  return true;
}

/** The end of an event `admitEvent` let in. */
export function releaseEvent(socket: Socket): void {
  const data = socket.data as SocketData;
  data.inFlight = (data.inFlight ?? 1) - 1;
}
