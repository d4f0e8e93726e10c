import type { ClientToServerEvents, ServerToClientEvents } from '@parley/contracts/wire';
import type { Socket } from 'socket.io-client';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type RequestResult<A> = { ack: A } | 'timeout' | 'disconnected';

/** Emits with an acknowledgement; resolves with it, or 'timeout' after `timeoutMs`, or 'disconnected'. */
export function request<A>(
  socket: ChatSocket,
  event: keyof ClientToServerEvents,
  payload: object,
  timeoutMs: number,
): Promise<RequestResult<A>> {
  return new Promise((resolve) => {
    if (!socket.connected) return resolve('disconnected');
    let done = false;
    const finish = (result: RequestResult<A>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('disconnect', onDisconnect);
      resolve(result);
    };
    const onDisconnect = () => finish('disconnected');
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('disconnect', onDisconnect);
    (socket.emit as (e: string, p: object, ack: (a: A) => void) => void)(event, payload, (ack: A) =>
      finish({ ack }),
    );
  });
}
