import type { Socket } from 'node:net';

/** Sockets corked by their first write of this turn, uncorked together by `flush`. */
const corked = new Set<Socket>();
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  for (const socket of corked) if (!socket.destroyed) socket.uncork();
  corked.clear();
}

/**
 * Makes the writes a socket gets in one event-loop turn leave together, in one system call (one `writev`) and
 * usually one TCP segment: the socket's first write of a turn corks it, and a `setImmediate` scheduled then uncorks
 * every socket corked in that turn, after the turn's I/O callbacks and promise continuations have run.
 *
 * Why: a chat message's hot path writes several commands to the same Redis in one turn (the broadcast mark, the
 * adapter's publishes, the next stream read), and on a VM each write is a system call of several microseconds, plus
 * a packet that the peer must read and parse on its own (docs/benchmarks.md, "Write coalescing"). Order is kept
 * (cork only buffers), and nothing waits longer than the rest of the turn: the flush runs before the event loop
 * next blocks. `end()` flushes at once, and so does `destroy()`: code that writes a last word and then destroys the
 * socket sends it as it would without corking, where a plain destroy would drop the corked bytes.
 *
 * Not for sockets whose owner paces itself by write callbacks (engine.io sends a socket's next packets only once
 * the previous write's callback has run): corking moves those callbacks to the end of the turn.
 *
 * Wrap a connected socket (an accepted one, or a client's at its `connect` event): `net.Socket#connect()` puts
 * the prototype's `write` back, so a socket wrapped before it connects would silently not coalesce.
 */
export function coalesceWrites<T extends Socket>(socket: T): T {
  if (socket.pending)
    throw new Error('coalesceWrites needs a connected socket: connect() restores the original write');
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = (...args: unknown[]): boolean => {
    if (!corked.has(socket)) {
      socket.cork();
      corked.add(socket);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    }
    return write(...args);
  };
  const destroy = socket.destroy.bind(socket);
  socket.destroy = (error?: Error): T => {
    if (corked.delete(socket) && !socket.destroyed) socket.uncork();
    return destroy(error);
  };
  return socket;
}
