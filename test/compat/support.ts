import type { AuthResult } from '@parley/contracts';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { connectRecorded, request, waitFor, type Recorder } from '@parley/testing';

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

/** A seed 003 Socket.IO client of `user` on `baseUrl`, joined to `conversation`: the other side of a mixed chat. */
export async function joinedSocketIo(
  baseUrl: string,
  user: AuthResult,
  conversation: { id: number },
): Promise<Recorder> {
  const rec = await connectRecorded(baseUrl, { token: user.tokens.access });
  const ack = await request<{ success: boolean }>(rec.socket, 'join-conversation', {
    conversationId: conversation.id,
    userId: user.user.id,
  });
  expect(ack.success).toBe(true);
  return rec;
}

/** A text message sent through a Socket.IO client, acknowledged. */
export async function sendSocketIo(
  rec: Recorder,
  user: AuthResult,
  conversation: { id: number },
  content: string,
): Promise<void> {
  const ack = await request<{ success: boolean }>(rec.socket, 'send-message', {
    sender_id: user.user.id,
    conversation_id: conversation.id,
    message_type: 'text',
    content,
  });
  expect(ack.success).toBe(true);
}
