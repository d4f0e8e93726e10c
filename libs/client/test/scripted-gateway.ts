import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ClientToServerEvents,
  Message,
  SendMessagePayload,
  ServerToClientEvents,
} from '@parley/contracts/wire';
import { Server, type Socket } from 'socket.io';

type GatewaySocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  { userId: number }
>;

/**
 * A small, scriptable stand-in for the gateway for the SDK's unit tests: a real Socket.IO server (namespace
 * /chat) and a real HTTP server, keeping messages in memory. It implements the protocol's shapes (tokens are
 * `t-<userId>`), and lets a test misbehave on purpose: refuse tokens, swallow acks, deliver out of order, drop
 * connections. The real gateway is tested with the SDK in test/client/.
 */
export class ScriptedGateway {
  readonly http: HttpServer;
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { userId: number }>;
  url = '';
  /** Tokens refused at the handshake (connect_error "Unauthorized"). */
  readonly refused = new Set<string>();
  /** Every token a handshake presented, in order. */
  readonly handshakes: string[] = [];
  /** Every send-message payload received, in order (retries included). */
  readonly sends: SendMessagePayload[] = [];
  /** Every join-conversation payload received. */
  readonly joins: Array<{ conversationId: number; userId: number; since_seq?: number }> = [];
  readonly typings: Array<{ conversationId: number; userId: number; isTyping: boolean; at: number }> = [];
  readonly restCalls: string[] = [];
  /** Swallow the acks (and message-sent) of this many next sends: the message is stored all the same. */
  dropSendAcks = 0;
  /** Do not broadcast stored messages live (a test delivers them itself, e.g. out of order). */
  silentBroadcast = false;
  /** Catch-ups on join hold at most this many messages (the real one: 100). */
  catchUpMax = 100;
  /** Refuse the next send with this error. */
  failNextSend?: string;
  private readonly messages = new Map<number, Message[]>();
  private nextId = 1;

  constructor() {
    this.http = createServer((req, res) => this.rest(req, res));
    this.io = new Server(this.http, { transports: ['websocket'] });
    const nsp = this.io.of('/chat');
    nsp.use((socket, next) => {
      const raw = (socket.handshake.auth as { token?: unknown }).token;
      const token = typeof raw === 'string' ? raw : '';
      this.handshakes.push(token);
      const userId = /^t-(\d+)$/.exec(token)?.[1];
      if (!userId || this.refused.has(token)) return next(new Error('Unauthorized'));
      socket.data.userId = Number(userId);
      next();
    });
    nsp.on('connection', (socket: GatewaySocket) => this.onConnection(socket));
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
    return this;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  async stop(): Promise<void> {
    this.io.of('/chat').disconnectSockets(true);
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }

  /** Drops every connection (their clients reconnect). */
  dropConnections(): void {
    for (const socket of this.io.of('/chat').sockets.values()) socket.conn.close();
  }

  connectedUsers(): number[] {
    return [...this.io.of('/chat').sockets.values()].map((s) => s.data.userId);
  }

  /** Stores a message as `senderId` without broadcasting it (for a test to deliver, or not, as it likes). */
  store(
    conversationId: number,
    senderId: number,
    content: string,
    clientMessageId: string | null = null,
  ): Message {
    const list = this.messages.get(conversationId) ?? [];
    this.messages.set(conversationId, list);
    const message: Message = {
      id: this.nextId++,
      sender_id: senderId,
      conversation_id: conversationId,
      seq: list.length + 1,
      timestamp: new Date().toISOString(),
      message_type: 'text',
      content,
      client_message_id: clientMessageId,
      conversation: { id: conversationId, sender_id: 1, receiver_id: 2 },
    };
    list.push(message);
    return message;
  }

  stored(conversationId: number): Message[] {
    return this.messages.get(conversationId) ?? [];
  }

  /** Emits receive-message to a conversation's room. */
  deliver(message: Message): void {
    this.io.of('/chat').to(`conversation:${message.conversation_id}`).emit('receive-message', message);
  }

  private onConnection(socket: GatewaySocket): void {
    const userId = socket.data.userId;
    void socket.join(`user:${userId}`);
    socket.on('send-message', (payload, ack) => {
      this.sends.push(payload);
      if (this.failNextSend) {
        const error = this.failNextSend;
        this.failNextSend = undefined;
        return ack?.({ success: false, error });
      }
      const existing = this.stored(payload.conversation_id).find(
        (m) => payload.client_message_id !== undefined && m.client_message_id === payload.client_message_id,
      );
      const message =
        existing ??
        this.store(payload.conversation_id, userId, payload.content, payload.client_message_id ?? null);
      if (!existing && !this.silentBroadcast) {
        socket.to(`conversation:${payload.conversation_id}`).emit('receive-message', message);
      }
      if (this.dropSendAcks > 0) {
        this.dropSendAcks--;
        return;
      }
      socket.emit('message-sent', message);
      ack?.({ success: true, message });
    });
    socket.on('join-conversation', (payload, ack) => {
      this.joins.push(payload);
      void socket.join(`conversation:${payload.conversationId}`);
      const all = this.stored(payload.conversationId);
      const lastSeq = all.length;
      socket.emit('joined-conversation', {
        conversationId: payload.conversationId,
        success: true,
        last_seq: lastSeq,
      });
      const after =
        payload.since_seq === undefined ? all.slice(-50) : all.filter((m) => m.seq > payload.since_seq!);
      const page = payload.since_seq === undefined ? after : after.slice(0, this.catchUpMax);
      socket.emit('recent-messages', {
        conversationId: payload.conversationId,
        messages: page,
        has_more: payload.since_seq === undefined ? all.length > 50 : after.length > page.length,
      });
      ack?.({ success: true, conversationId: payload.conversationId, last_seq: lastSeq, last_read_seq: 0 });
    });
    socket.on('typing', (payload, ack) => {
      this.typings.push({ ...payload, at: Date.now() });
      socket.to(`conversation:${payload.conversationId}`).emit('user-typing', payload);
      ack?.({ success: true, conversationId: payload.conversationId });
    });
    socket.on('mark-read', (payload, ack) => {
      const seq = payload.seq ?? this.stored(payload.conversationId).length;
      this.io
        .of('/chat')
        .to([`conversation:${payload.conversationId}`, `user:${userId}`])
        .emit('messages-read', { conversationId: payload.conversationId, userId, seq });
      ack?.({ success: true, conversationId: payload.conversationId, seq });
    });
  }

  /** GET /api/chats/conversations/:id/messages?after_seq=&limit= (what the SDK uses for catch-ups and gaps). */
  private rest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.restCalls.push(`${req.method} ${url.pathname}${url.search}`);
    const m = /^\/api\/chats\/conversations\/(\d+)\/messages$/.exec(url.pathname);
    if (!m || !/^Bearer t-\d+$/.test(req.headers.authorization ?? '')) {
      res.writeHead(m ? 401 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ statusCode: m ? 401 : 404, message: m ? 'Unauthorized' : 'Not Found' }));
      return;
    }
    const after = Number(url.searchParams.get('after_seq') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 20);
    const rest = this.stored(Number(m[1])).filter((msg) => msg.seq > after);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ messages: rest.slice(0, limit), has_more: rest.length > limit }));
  }
}
