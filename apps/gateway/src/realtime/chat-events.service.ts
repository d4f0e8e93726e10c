import { Injectable, Logger } from '@nestjs/common';
import {
  Rooms,
  ServerEvent,
  type Id,
  type SendMessageResult,
  type ServerToClientEvents,
} from '@parley/contracts';
import type { Namespace, Socket } from 'socket.io';
import { RedisService } from '../redis/redis.service.js';
import { RealtimeMetrics } from './realtime.metrics.js';

/** How long a message's "broadcast" mark lives in Redis. */
const MARK_TTL_MS = 120_000;
/**
 * A repeat of an older message is never broadcast: its mark may have expired, and its receivers have long
 * caught up (join with `since_seq`). Well inside MARK_TTL_MS, so clock skew between Postgres and the gateway
 * cannot matter.
 */
const REPEAT_WINDOW_MS = 60_000;

/**
 * Broadcasts what the chats service stored, once, from a gateway instance that handled a request for it; the
 * Redis adapter carries it to the sockets on every other instance. Used by the Socket.IO handlers and by REST.
 *
 * "Once" holds across retries: the gateway that broadcasts a message first sets its mark in Redis (SET NX), so
 * a retry with the same `client_message_id` broadcasts only when no gateway did: the first one died between the
 * commit and the broadcast, or the chats instance that committed it died before answering.
 */
@Injectable()
export class ChatEvents {
  private nsp?: Namespace<Record<string, never>, ServerToClientEvents>;
  private readonly logger = new Logger('ChatEvents');

  constructor(
    private readonly redis: RedisService,
    private readonly metrics: RealtimeMetrics,
  ) {}

  attach(nsp: Namespace<Record<string, never>, ServerToClientEvents>): void {
    this.nsp = nsp;
  }

  /**
   * `receive-message` to the conversation's room (without the sending socket, which gets `message-sent`), and
   * `conversation-updated` to each participant's own room with their unread count, unless the message was
   * broadcast already. Broadcasts of one caller keep its order (one Redis connection answers in order).
   */
  messageStored(result: SendMessageResult, from?: Socket): void {
    if (!this.nsp) return;
    const { message } = result;
    if (!result.created && Date.now() - Date.parse(message.timestamp) > REPEAT_WINDOW_MS) return;
    this.redis.commands
      .set(this.redis.key(`broadcast:${message.id}`), '1', 'PX', MARK_TTL_MS, 'NX')
      .then(
        (ok) => ok !== null,
        (err: unknown) => {
          // Without Redis the mark cannot be checked; broadcasting twice beats not at all.
          this.logger.warn(`broadcast mark of message ${message.id} not set: ${(err as Error).message}`);
          return result.created;
        },
      )
      .then((first) => {
        if (!first) return;
        if (!result.created) this.metrics.lateBroadcasts.inc();
        this.broadcast(result, from);
      })
      .catch((err: unknown) =>
        this.logger.warn(`broadcast of ${message.id} failed: ${(err as Error).message}`),
      );
  }

  private broadcast(result: SendMessageResult, from?: Socket): void {
    const nsp = this.nsp!;
    const room = Rooms.conversation(result.message.conversation_id);
    (from ? from.to(room) : nsp.to(room)).emit(ServerEvent.ReceiveMessage, result.message);
    for (const p of result.participants) {
      const unread = Math.max(0, result.conversation.last_seq - p.last_read_seq);
      nsp.to(Rooms.user(p.user_id)).emit(ServerEvent.ConversationUpdated, {
        conversation: { ...result.conversation, unread_count: unread },
      });
    }
  }

  /** `messages-read` to the conversation's room and to every socket of the reader. */
  readMarkMoved(conversationId: Id, userId: Id, seq: number): void {
    this.nsp
      ?.to([Rooms.conversation(conversationId), Rooms.user(userId)])
      .emit(ServerEvent.MessagesRead, { conversationId, userId, seq });
  }
}
