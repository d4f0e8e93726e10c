import type { Socket } from 'socket.io';

interface EngineSocket {
  writeBuffer: unknown[];
  transport?: { name?: string; socket?: { terminate?: () => void } };
  on(event: 'packetCreate', listener: () => void): void;
  close(): void;
}

/**
 * Socket.IO queues every packet for a socket until its transport can take it, without limit: a client that stops
 * reading (stalled, or hostile) would grow the gateway's memory for as long as its room is busy. This drops such a
 * socket once `maxPackets` are waiting. The transport is cut rather than closed politely (a polite close waits for
 * the queue to drain, which never happens); a live client reconnects and catches up with since_seq.
 */
export function guardSlowConsumer(socket: Socket, maxPackets: number, onDrop: () => void): void {
  const conn = socket.conn as unknown as EngineSocket;
  let dropped = false;
  conn.on('packetCreate', () => {
    if (dropped || conn.writeBuffer.length <= maxPackets) return;
    dropped = true;
    onDrop();
    const ws = conn.transport?.socket;
    if (conn.transport?.name === 'websocket' && typeof ws?.terminate === 'function') ws.terminate();
    else conn.close();
  });
}
