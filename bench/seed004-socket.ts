// Seed 004's plain-WebSocket protocol (docs/compat.md) in the shape of the socket.io-client calls the load worker
// makes for 1:1 runs, so that one load worker, one schedule and one set of counters measure both paths: the
// connection is `/compat/004/ws/chat/<peer>/?token=`; `send-message` is a `{message}` frame whose echo (the
// sender's own `{message, sender_id}`) is its acknowledgement (frames are answered in order: an `{error}` answers
// the oldest unanswered send); the peer's `{message, sender_id}` is a `receive-message`. Previous messages pushed
// on connect (`content` frames) are ignored, as the load worker ignores `recent-messages`.
import WebSocket from 'ws';

type Ack = { success: boolean; error?: string };
type Listener = (...args: unknown[]) => void;

export class Seed004Socket {
  private readonly ws: WebSocket;
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Sends not answered yet, oldest first: their content and how to answer them. */
  private readonly unanswered: { content: string; answer: (ack: Ack) => void }[] = [];
  private timeoutMs = 10_000;

  constructor(
    url: string,
    private readonly userId: number,
    peerId: number,
    token: string,
  ) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/compat/004/ws/chat/${peerId}/?token=${token}`, {
      perMessageDeflate: false,
    });
    this.ws.on('open', () => this.fire('connect'));
    this.ws.on('unexpected-response', (_req, res) =>
      this.fire('connect_error', new Error(`HTTP ${res.statusCode}`)),
    );
    this.ws.on('error', (err) => this.fire('connect_error', err));
    this.ws.on('close', (code) => {
      for (const u of this.unanswered.splice(0)) u.answer({ success: false, error: `closed (${code})` });
      this.fire('disconnect', `close ${code}`);
    });
    this.ws.on('message', (data: Buffer) =>
      this.onFrame(JSON.parse(data.toString('utf8')) as Record<string, unknown>),
    );
  }

  get connected(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  on(event: string, listener: Listener): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  once(event: string, listener: Listener): this {
    const wrapped: Listener = (...args) => {
      this.off(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }

  off(event: string, listener: Listener): this {
    this.listeners.get(event)?.delete(listener);
    return this;
  }

  timeout(ms: number): this {
    this.timeoutMs = ms;
    return this;
  }

  /** `join-conversation`: the connection joined already; `send-message`: one `{message}` frame. */
  emitWithAck(event: string, payload: { content?: string }): Promise<Ack> {
    if (event !== 'send-message') return Promise.resolve({ success: this.connected });
    const content = payload.content ?? '';
    return new Promise<Ack>((resolve) => {
      const timer = setTimeout(() => resolve({ success: false, error: 'timeout' }), this.timeoutMs);
      this.unanswered.push({
        content,
        answer: (ack) => {
          clearTimeout(timer);
          resolve(ack);
        },
      });
      this.ws.send(JSON.stringify({ message: content }));
    });
  }

  close(): void {
    this.ws.close();
  }

  private onFrame(frame: Record<string, unknown>): void {
    if (typeof frame.error === 'string') {
      this.unanswered.shift()?.answer({ success: false, error: frame.error });
    } else if (typeof frame.message === 'string') {
      if (frame.sender_id === this.userId) {
        const i = this.unanswered.findIndex((u) => u.content === frame.message);
        if (i >= 0) this.unanswered.splice(i, 1)[0]!.answer({ success: true });
      } else {
        this.fire('receive-message', { content: frame.message });
      }
    }
  }

  private fire(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) listener(...args);
  }
}
