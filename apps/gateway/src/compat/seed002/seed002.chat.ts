import { ClientEvent, Limits, Rooms, ServerEvent, type Id, type Message } from '@parley/contracts';
import {
  checkText,
  type CompatChannel,
  type CompatServices,
  describe,
  isRecord,
  LiveAfterHistory,
  refuseStart,
  sendFrom,
} from '../channel.js';
import type { CompatConnection } from '../compat-connection.js';
import { seed002Message } from './seed002.render.js';

/**
 * Seed 002's chat socket, `/ws/chat/<conversation_id>/`: a member's conversation (anyone else is closed with
 * 4403), `recent_messages` on connect, then `chat_message` for every new message (the client's own included),
 * `typing_indicator` and `messages_read`. The client sends `chat_message`, `typing` and `mark_read`.
 */
export class Seed002Chat implements CompatChannel {
  /** Usernames of the conversation's members, for `typing_indicator` (the first page of members, read on connect). */
  private readonly usernames = new Map<Id, string>();
  private readonly live = new LiveAfterHistory((message) =>
    this.conn.send({ type: 'chat_message', message: seed002Message(message, this.conn.userId) }),
  );

  constructor(
    private readonly conn: CompatConnection,
    private readonly conversationId: Id,
    private readonly services: CompatServices,
  ) {}

  async start(): Promise<void> {
    const me = this.conn.userId;
    try {
      await this.services.conversations.join(me, this.conversationId);
    } catch (err) {
      return refuseStart(this.conn, this, err);
    }
    this.conn.join(Rooms.conversation(this.conversationId));
    const [page, members] = await Promise.all([
      this.services.messages.catchUp(me, this.conversationId, {}),
      this.services.members.list(me, this.conversationId, null, Limits.pageSizeMax),
    ]);
    for (const member of members.members) this.usernames.set(member.user.id, member.user.username);
    this.conn.send({ type: 'recent_messages', messages: page.messages.map((m) => seed002Message(m, me)) });
    this.live.historySent(page.messages.at(-1)?.seq ?? 0);
  }

  async onFrame(frame: unknown): Promise<void> {
    if (!isRecord(frame)) return this.error('Invalid message format');
    const me = this.conn.userId;
    try {
      switch (frame.type) {
        case 'chat_message': {
          const checked = checkText(frame.content, 'content');
          if ('error' in checked) return this.error(checked.error);
          return await sendFrom(this.conn, this, this.services, this.conversationId, {
            message_type: 'text',
            content: checked.text,
          });
        }
        case 'typing':
          if (typeof frame.is_typing !== 'boolean') return this.error('is_typing must be a boolean value');
          return await this.services.conversations.typing(
            me,
            this.conversationId,
            frame.is_typing,
            this.conn.id,
          );
        case 'mark_read':
          await this.services.conversations.markRead(me, this.conversationId, undefined);
          return;
        default:
          return this.error('Unknown message type');
      }
    } catch (err) {
      this.error(describe(err, frame.type === 'chat_message' ? ClientEvent.SendMessage : String(frame.type)));
    }
  }

  render(event: string, payload: unknown): void {
    switch (event) {
      case ServerEvent.ReceiveMessage: {
        const message = payload as Message;
        if (message.conversation_id === this.conversationId) this.live.push(message);
        return;
      }
      case ServerEvent.UserTyping: {
        const { conversationId, userId, isTyping } = payload as {
          conversationId: Id;
          userId: Id;
          isTyping: boolean;
        };
        if (conversationId !== this.conversationId) return;
        const username = this.usernames.get(userId) ?? String(userId);
        this.conn.send({ type: 'typing_indicator', user_id: userId, username, is_typing: isTyping });
        return;
      }
      case ServerEvent.MessagesRead: {
        const { conversationId, userId, seq } = payload as { conversationId: Id; userId: Id; seq: number };
        if (conversationId !== this.conversationId) return;
        this.conn.send({ type: 'messages_read', user_id: userId, conversation_id: conversationId, seq });
        return;
      }
    }
  }

  error(message: string): void {
    this.conn.send({ error: message });
  }
}
