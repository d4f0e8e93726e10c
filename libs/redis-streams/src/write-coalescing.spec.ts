import { once } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from './write-coalescing.js';

/** What reaches the stream layer below the socket: one entry per `_write` or `_writev` call, with its chunks. */
function recordSyscalls(socket: Socket): string[][] {
  const calls: string[][] = [];
  const internals = socket as unknown as {
    _write: (chunk: Buffer, encoding: string, cb: () => void) => void;
    _writev: (chunks: { chunk: Buffer }[], cb: () => void) => void;
  };
  const write = internals._write.bind(socket);
  const writev = internals._writev.bind(socket);
  internals._write = (chunk, encoding, cb) => {
    calls.push([String(chunk)]);
    write(chunk, encoding, cb);
  };
  internals._writev = (chunks, cb) => {
    calls.push(chunks.map((c) => String(c.chunk)));
    writev(chunks, cb);
  };
  return calls;
}

const turn = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

describe('coalesceWrites', () => {
  let server: Server;
  let received: string;
  let socket: Socket;

  beforeEach(async () => {
    received = '';
    server = createServer((peer) => peer.on('data', (d: Buffer) => (received += String(d))));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    socket = new Socket();
    socket.connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
  });

  afterEach(async () => {
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the writes of one turn in one call, in order, and each later turn in its own', async () => {
    const calls = recordSyscalls(coalesceWrites(socket));
    socket.write('a');
    socket.write('b');
    await Promise.resolve();
    socket.write('c'); // a promise continuation of the same turn
    expect(calls).toEqual([]);
    await turn();
    expect(calls).toEqual([['a', 'b', 'c']]);
    socket.write('d');
    await turn();
    socket.write('e');
    socket.write('f');
    await turn();
    expect(calls).toEqual([['a', 'b', 'c'], ['d'], ['e', 'f']]);
    await expect.poll(() => received).toBe('abcdef');
  });

  it('without it, the same writes go one call each (the measurement above can tell them apart)', async () => {
    const calls = recordSyscalls(socket);
    socket.write('a');
    socket.write('b');
    socket.write('c');
    await turn();
    expect(calls.length).toBeGreaterThan(1);
    await expect.poll(() => received).toBe('abc');
  });

  it('flushes at once on end() and on destroy(), so a last word before a hang-up still leaves', async () => {
    const calls = recordSyscalls(coalesceWrites(socket));
    socket.write('x');
    socket.end('y');
    expect(calls.flat()).toEqual(['x', 'y']);
    await expect.poll(() => received).toBe('xy');

    const other = new Socket();
    other.connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(other, 'connect');
    coalesceWrites(other);
    const callsOther = recordSyscalls(other);
    other.write('z');
    other.destroy();
    expect(callsOther.flat()).toEqual(['z']);
    await turn(); // the turn's flush skips it without throwing
    expect(other.destroyed).toBe(true);
    await expect.poll(() => received).toBe('xyz');
  });

  it('refuses a socket that has not connected yet, which connect() would quietly unwrap', () => {
    const unconnected = new Socket();
    expect(() => coalesceWrites(unconnected)).toThrow('coalesceWrites needs a connected socket');
    unconnected.destroy();
  });
});
