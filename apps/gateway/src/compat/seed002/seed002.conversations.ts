import { Limits, ServerEvent, type Conversation, type Id } from '@parley/contracts';
import { describe, isRecord, type CompatChannel, type CompatServices } from '../channel.js';
import type { CompatConnection } from '../compat-connection.js';
import { seed002Conversation, seed002Message } from './seed002.render.js';

/** Conversations whose latest notified message this connection remembers, at most (then it starts over). */
const NOTIFIED_MAX = 10_000;

/**
 * Seed 002's conversation-list socket, `/ws/conversations/`: `conversations_list` on connect and on
 * `get_conversations` / `refresh_conversations` (the caller's 100 most recent conversations), and
 * `new_customer_message` when someone else's message becomes the latest of one of them (from the
 * `conversation-updated` every member's sockets get).
 */
export class Seed002Conversations implements CompatChannel {
  /** Conversation → the seq of the last message this connection announced in it. */
  private readonly notified = new Map<Id, number>();

  constructor(
    private readonly conn: CompatConnection,
    _params: string[],
    private readonly services: CompatServices,
  ) {}

  start(): Promise<void> {
    return this.sendList();
  }

  async onFrame(frame: unknown): Promise<void> {
    if (!isRecord(frame)) return this.error('Invalid message format');
    if (frame.type !== 'get_conversations' && frame.type !== 'refresh_conversations') {
      return this.error('Unknown message type');
    }
    try {
      await this.sendList();
    } catch (err) {
      this.error(describe(err, 'get_conversations'));
    }
  }

  render(event: string, payload: unknown): void {
    if (event !== ServerEvent.ConversationUpdated) return;
    const { conversation } = payload as { conversation: Conversation };
    const last = conversation.last_message;
    const me = this.conn.userId;
    if (!last || last.sender_id === me || last.message_type === 'system') return;
    if (last.seq <= (this.notified.get(conversation.id) ?? 0)) return;
    if (this.notified.size >= NOTIFIED_MAX) this.notified.clear();
    this.notified.set(conversation.id, last.seq);
    this.conn.send({
      type: 'new_customer_message',
      conversation_id: conversation.id,
      message: seed002Message(last, me),
    });
  }

  error(message: string): void {
    this.conn.send({ error: message });
  }

  private async sendList(): Promise<void> {
    const me = this.conn.userId;
    const page = await this.services.conversations.list(me, null, Limits.pageSizeMax);
    for (const c of page.conversations) {
      if (c.last_message && c.last_message.seq > (this.notified.get(c.id) ?? 0))
        this.notified.set(c.id, c.last_message.seq);
    }
    this.conn.send({
      type: 'conversations_list',
      conversations: page.conversations.map((c) => seed002Conversation(c, me)),
    });
  }
}
