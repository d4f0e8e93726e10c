import type { Socket } from 'socket.io';

interface EngineSocket {
  writeBuffer: unknown[];
  /** The Socket.IO socket to report when this one is dropped (set by the guard, cleared once dropped). */
  parleySocket?: Socket;
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
export function slowConsumerGuard(
  maxPackets: number,
  onDrop: (socket: Socket) => void,
): (socket: Socket) => void {
  // One listener shared by every socket (called with the engine socket as `this`): no closure per socket.
  function onPacketCreate(this: EngineSocket): void {
    if (this.writeBuffer.length <= maxPackets || !this.parleySocket) return;
    const socket = this.parleySocket;
    this.parleySocket = undefined; // once
    onDrop(socket);
    const ws = this.transport?.socket;
    if (this.transport?.name === 'websocket' && typeof ws?.terminate === 'function') ws.terminate();
    else this.close();
  }
  return (socket) => {
    const conn = socket.conn as unknown as EngineSocket;
    conn.parleySocket = socket;
    conn.on('packetCreate', onPacketCreate);
  };
}
