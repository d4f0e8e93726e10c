// The baseline: a minimal raw Socket.IO server in one process, no persistence, no auth, no validation: the
// ceiling of Socket.IO itself on this machine, with the same events and payload shapes as Parley.
// Usage: tsx bench/baseline-server.ts <port>
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2] ?? 3900);
const http = createServer((req, res) => {
  res.writeHead(req.url === '/health/ready' ? 200 : 404).end();
});
const io = new Server(http, { maxHttpBufferSize: 1e6 });
const chat = io.of('/chat');
let nextId = 0;
const seqs = new Map<number, number>();

chat.on('connection', (socket) => {
  const userId = Number((socket.handshake.auth as { userId?: unknown }).userId);
  void socket.join(`user:${userId}`);
  socket.on('join-conversation', (payload: { conversationId: number }, ack?: (r: unknown) => void) => {
    void socket.join(`conversation:${payload.conversationId}`);
    ack?.({
      success: true,
      conversationId: payload.conversationId,
      last_seq: seqs.get(payload.conversationId) ?? 0,
      last_read_seq: 0,
    });
  });
  socket.on(
    'send-message',
    (
      p: {
        sender_id: number;
        conversation_id: number;
        message_type: string;
        content: string;
        client_message_id?: string;
      },
      ack?: (r: unknown) => void,
    ) => {
      const seq = (seqs.get(p.conversation_id) ?? 0) + 1;
      seqs.set(p.conversation_id, seq);
      const message = {
        id: ++nextId,
        sender_id: p.sender_id,
        conversation_id: p.conversation_id,
        seq,
        timestamp: new Date().toISOString(),
        message_type: p.message_type,
        content: p.content,
        client_message_id: p.client_message_id ?? null,
        conversation: { id: p.conversation_id, sender_id: p.sender_id, receiver_id: 0 },
      };
      ack?.({ success: true, message });
      socket.emit('message-sent', message);
      socket.to(`conversation:${p.conversation_id}`).emit('receive-message', message);
    },
  );
});

http.listen(port, '127.0.0.1', () => process.stdout.write(`baseline listening on ${port}\n`));
process.on('SIGTERM', () => {
  void io.close();
  process.exit(0);
});
