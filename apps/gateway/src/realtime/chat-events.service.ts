import { Injectable } from '@nestjs/common';
import {
  Rooms,
  ServerEvent,
  type Id,
  type SendMessageResult,
  type ServerToClientEvents,
} from '@parley/contracts';
import type { Namespace, Socket } from 'socket.io';

/**
 * Broadcasts what the chats service stored, once, from the gateway instance that handled the request; the Redis
 * adapter carries it to the sockets on every other instance. Used by the Socket.IO handlers and by REST alike.
 */
@Injectable()
export class ChatEvents {
  private nsp?: Namespace<Record<string, never>, ServerToClientEvents>;

  attach(nsp: Namespace<Record<string, never>, ServerToClientEvents>): void {
    this.nsp = nsp;
  }

  /**
   * `receive-message` to the conversation's room (without the sending socket, which gets `message-sent`), and
   * `conversation-updated` to each participant's own room with their unread count. Nothing for a repeat, unless
   * the message was recovered from a chats instance that died before anyone broadcast it.
   */
  messageStored(result: SendMessageResult, from?: Socket): void {
    if (!(result.created || result.recovered) || !this.nsp) return;
    const room = Rooms.conversation(result.message.conversation_id);
    (from ? from.to(room) : this.nsp.to(room)).emit(ServerEvent.ReceiveMessage, result.message);
    for (const p of result.participants) {
      const unread = Math.max(0, result.conversation.last_seq - p.last_read_seq);
      this.nsp.to(Rooms.user(p.user_id)).emit(ServerEvent.ConversationUpdated, {
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
