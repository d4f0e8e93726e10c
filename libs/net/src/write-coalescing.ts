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
 * Why: a chat message's hot path writes many small things to the same peer in one turn (the commands of one
 * Redis reply's handling, the five protocol messages of one Postgres query, two Socket.IO frames to one socket),
 * and on a VM each write is a system call of several microseconds, plus a packet that the peer must read and
 * parse on its own (docs/benchmarks.md, "The hot path"). Order is kept (cork only buffers), and nothing waits
 * longer than the rest of the turn: the flush runs before the event loop next blocks. `end()` flushes at once.
 *
 * Returns the socket, so it can wrap a factory's result.
 */
export function coalesceWrites<T extends Socket>(socket: T): T {
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
  return socket;
}
