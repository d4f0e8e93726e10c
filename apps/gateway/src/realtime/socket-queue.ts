import type { Socket } from 'socket.io';

const tails = new WeakMap<Socket, Promise<unknown>>();

/**
 * Runs `work` after everything queued before on the same socket has finished, so messages from one socket are
 * stored (and broadcast) in the order it sent them, even though RPCs could otherwise overtake each other.
 */
export function serializePerSocket<T>(socket: Socket, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(socket) ?? Promise.resolve();
  const run = previous.then(work, work);
  tails.set(
    socket,
    run.catch(() => undefined),
  );
  return run;
}
