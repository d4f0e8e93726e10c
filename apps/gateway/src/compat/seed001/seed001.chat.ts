import {
  ClientEvent,
  ErrorMessages,
  Rooms,
  ServerEvent,
  type Id,
  type Message,
  type UserProfile,
} from '@parley/contracts';
import {
  checkText,
  type CompatChannel,
  type CompatServices,
  describe,
  isRecord,
  refuseStart,
  sendFrom,
} from '../channel.js';
import { CloseCode, type CompatConnection } from '../compat-connection.js';

/** Which conversation a seed 001 socket is for: the student's own (`my-conversation`), or one by id (teachers). */
export type Seed001Target = { mine: true } | { mine: false; conversationId: Id };

/**
 * Seed 001's chat socket: `/ws/chat/my-conversation/` (a student's conversation with the mentor assigned to them,
 * created on first use; closed with 4404 without a mentor) and `/ws/chat/conversations/<id>/` (a TEACHER's or
 * TRAINER's conversation; anyone else is closed with 4403). On connect the conversation is marked read and
 * `connection_established` is sent; then `new_message` for every new message, with the sender's profile and
 * `is_own_message` per connection. The client sends `{message}`; errors are `{error}` with the seed's strings.
 */
export class Seed001Chat implements CompatChannel {
  private conversationId?: Id;
  /** The members' profiles (both members of a direct conversation), read on connect. */
  private readonly profiles = new Map<Id, UserProfile>();

  constructor(
    private readonly conn: CompatConnection,
    private readonly target: Seed001Target,
    private readonly services: CompatServices,
  ) {}

  async start(): Promise<void> {
    const me = this.conn.userId;
    let conversationId: Id;
    try {
      if (this.target.mine) {
        conversationId = (await this.services.mentors.myConversation(me)).id;
      } else {
        conversationId = this.target.conversationId;
        const [profile] = await this.services.users.getMany(me, [me]);
        if (profile?.role !== 'TEACHER' && profile?.role !== 'TRAINER') {
          this.error(ErrorMessages.notParticipantJoin);
          return this.conn.close(CloseCode.forbidden, ErrorMessages.notParticipantJoin);
        }
      }
      await this.services.conversations.join(me, conversationId);
    } catch (err) {
      return refuseStart(this.conn, this, err);
    }
    this.conn.join(Rooms.conversation(conversationId));
    const members = await this.services.members.list(me, conversationId, null, 2);
    const ids = members.members.map((m) => m.user.id);
    for (const profile of await this.services.users.getMany(me, ids)) this.profiles.set(profile.id, profile);
    // "The backend automatically marks messages as read for a user when they connect to a conversation."
    await this.services.conversations.markRead(me, conversationId, undefined);
    this.conversationId = conversationId;
    this.conn.send({
      type: 'connection_established',
      conversation_id: String(conversationId),
      room_group_name: `chat_${conversationId}`,
    });
  }

  async onFrame(frame: unknown): Promise<void> {
    if (!this.conversationId) return this.error('Conversation not established.');
    if (!isRecord(frame)) return this.error('Invalid message format');
    if (frame.type === 'mark_read') {
      await this.services.conversations
        .markRead(this.conn.userId, this.conversationId, undefined)
        .catch((err) => {
          this.error(describe(err, ClientEvent.MarkRead));
        });
      return;
    }
    const text = frame.message;
    if (text === undefined || text === null || (typeof text === 'string' && text.trim() === '')) {
      return this.error('Message content cannot be empty.');
    }
    const checked = checkText(text, 'message');
    if ('error' in checked) return this.error(checked.error);
    await sendFrom(this.conn, this, this.services, this.conversationId, {
      message_type: 'text',
      content: checked.text,
    });
  }

  render(event: string, payload: unknown): void {
    if (event === ServerEvent.ReceiveMessage) {
      const message = payload as Message;
      if (message.conversation_id !== this.conversationId || message.message_type === 'system') return;
      this.conn.send({ type: 'new_message', message: this.message(message) });
    }
  }

  error(message: string): void {
    this.conn.send({ error: message });
  }

  private message(message: Message) {
    const profile = this.profiles.get(message.sender_id);
    return {
      id: message.id,
      sender: message.sender_id,
      sender_profile: {
        user_id: message.sender_id,
        full_name: profile?.display_name ?? null,
        username: profile?.username ?? null,
        // Parley never shows a user's address to others.
        email: null,
        role: profile?.role ?? null,
      },
      content: message.content,
      timestamp: message.timestamp,
      is_read: false,
      is_own_message: message.sender_id === this.conn.userId,
    };
  }
}
