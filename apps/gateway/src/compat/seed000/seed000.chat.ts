import { ClientEvent, ErrorMessages, Rooms, ServerEvent, type Id, type Message } from '@parley/contracts';
import {
  type CompatChannel,
  type CompatServices,
  describe,
  isRecord,
  refuseStart,
  sendFrom,
  validMessageBody,
} from '../channel.js';
import type { CompatConnection } from '../compat-connection.js';
import { parseSeedId, seed000Body, seed000Message } from './seed000.render.js';

/**
 * Seed 000's chat socket, `/ws/chat/<conversation_id>/`: a member's conversation (the seed shows no
 * authentication: Parley takes the seed's own REST token as `?token=`, docs/compat.md). The client sends
 * `chat_message` with `senderId` (its own id), `receiverId`, `text`, `attachments`, `productId` and `offerId`; every
 * new message of the conversation comes as `chat_message` with `sender: 'me'` on the sender's sockets. No history
 * is pushed (the seed loads it over REST).
 */
export class Seed000Chat implements CompatChannel {
  constructor(
    private readonly conn: CompatConnection,
    private readonly conversationId: Id,
    private readonly services: CompatServices,
  ) {}

  async start(): Promise<void> {
    try {
      await this.services.conversations.join(this.conn.userId, this.conversationId);
    } catch (err) {
      return refuseStart(this.conn, this, err);
    }
    this.conn.join(Rooms.conversation(this.conversationId));
  }

  async onFrame(frame: unknown): Promise<void> {
    if (!isRecord(frame)) return this.error('Invalid message format');
    if (frame.type !== 'chat_message') return this.error('Unknown message type');
    const me = this.conn.userId;
    if (frame.senderId !== undefined && parseSeedId(frame.senderId) !== me) {
      return this.error(ErrorMessages.senderMismatch);
    }
    const mapped = seed000Body(frame);
    if ('error' in mapped) return this.error(mapped.error);
    const body = await validMessageBody(mapped.body).catch((err: unknown) => {
      this.error(describe(err, ClientEvent.SendMessage));
    });
    if (body) await sendFrom(this.conn, this, this.services, this.conversationId, body);
  }

  render(event: string, payload: unknown): void {
    if (event === ServerEvent.ReceiveMessage) {
      const message = payload as Message;
      if (message.conversation_id !== this.conversationId || message.message_type === 'system') return;
      this.conn.send({ type: 'chat_message', message: seed000Message(message, this.conn.userId) });
    }
  }

  error(message: string): void {
    this.conn.send({ error: message });
  }
}
