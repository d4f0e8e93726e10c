import WebSocket from 'ws';
import { waitFor } from '@parley/testing';

/** What a browser gives the seeds' example code: `window.location` (of the page's origin) and `WebSocket`. */
export function browserGlobals(baseUrl: string): void {
  const url = new URL(baseUrl);
  (globalThis as Record<string, unknown>).window = { location: { protocol: url.protocol, host: url.host } };
  (globalThis as Record<string, unknown>).WebSocket = WebSocket;
}

/** A plain WebSocket client that records every frame (parsed) and how it closed. */
export class Frames {
  readonly frames: Record<string, unknown>[] = [];
  closed?: { code: number; reason: string };
  refused?: number;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data: Buffer) =>
      this.frames.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>),
    );
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
    this.ws.on('unexpected-response', (_req, res) => {
      this.refused = res.statusCode;
      this.closed = { code: 1006, reason: `HTTP ${res.statusCode}` };
    });
    this.ws.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('close', () => reject(new Error(`closed before open: ${JSON.stringify(this.closed)}`)));
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.opened.catch(() => undefined);
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  where(test: (f: Record<string, unknown>) => boolean): Record<string, unknown>[] {
    return this.frames.filter(test);
  }

  async wait(
    what: string,
    test: (f: Record<string, unknown>) => boolean,
    count = 1,
  ): Promise<Record<string, unknown>[]> {
    await waitFor(
      `${count} ${what} (have ${this.where(test).length})`,
      () => this.where(test).length >= count,
    );
    return this.where(test);
  }

  async waitClosed(): Promise<{ code: number; reason: string }> {
    await waitFor('the connection to close', () => this.closed !== undefined);
    return this.closed!;
  }

  close(): void {
    this.ws.close();
  }
}
