import { Rooms, ServerEvent, type Id, type Message } from '@parley/contracts';
import {
  checkText,
  type CompatChannel,
  type CompatServices,
  isRecord,
  LiveAfterHistory,
  refuseStart,
  sendFrom,
} from '../channel.js';
import type { CompatConnection } from '../compat-connection.js';

/**
 * Seed 004's chat socket, `/ws/chat/<peer_user_id>/`: the direct conversation with that user (created on first
 * use), its previous messages pushed on connect (oldest first, one frame each, in the seed's "previous message"
 * shape), then `{message, sender_id}` for every new message, the client's own included (the seed's clients show
 * their own messages from that echo). The client sends `{message}`.
 */
export class Seed004Chat implements CompatChannel {
  private conversationId?: Id;
  private readonly live = new LiveAfterHistory((message) => this.sendNew(message));

  constructor(
    private readonly conn: CompatConnection,
    private readonly peerId: Id,
    private readonly services: CompatServices,
  ) {}

  async start(): Promise<void> {
    const me = this.conn.userId;
    let conversationId: Id;
    try {
      ({
        conversation: { id: conversationId },
      } = await this.services.conversations.createDirect(me, this.peerId));
      await this.services.conversations.join(me, conversationId);
    } catch (err) {
      return refuseStart(this.conn, this, err);
    }
    this.conversationId = conversationId;
    this.conn.join(Rooms.conversation(conversationId));
    const [page, members] = await Promise.all([
      this.services.messages.catchUp(me, conversationId, {}),
      this.services.members.list(me, conversationId, null, 2),
    ]);
    const readUpTo = new Map(members.members.map((m) => [m.user.id, m.last_read_seq]));
    let lastSeq = 0;
    for (const message of page.messages) {
      lastSeq = message.seq;
      if (message.message_type === 'system' || message.deleted_at !== null) continue;
      const receiver = message.sender_id === me ? this.peerId : me;
      this.conn.send({
        id: message.id,
        sender_id: message.sender_id,
        reciever_id: receiver, // sic: the seed's field name
        content: message.content,
        timestamp: message.timestamp,
        is_read: message.seq <= (readUpTo.get(receiver) ?? 0),
      });
    }
    this.live.historySent(lastSeq);
  }

  async onFrame(frame: unknown): Promise<void> {
    if (!isRecord(frame) || !('message' in frame)) return this.error('message is required');
    const checked = checkText(frame.message, 'message');
    if ('error' in checked) return this.error(checked.error);
    await sendFrom(this.conn, this, this.services, this.conversationId!, {
      message_type: 'text',
      content: checked.text,
    });
  }

  render(event: string, payload: unknown): void {
    if (event === ServerEvent.ReceiveMessage) {
      const message = payload as Message;
      if (message.conversation_id === this.conversationId && message.message_type !== 'system') {
        this.live.push(message);
      }
    }
  }

  error(message: string): void {
    this.conn.send({ error: message });
  }

  private sendNew(message: Message): void {
    this.conn.send({ id: message.id, message: message.content, sender_id: message.sender_id });
  }
}
