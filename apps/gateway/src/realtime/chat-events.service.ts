import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  Rooms,
  ServerEvent,
  type ConversationState,
  type Id,
  type MemberViewGroup,
  type MembershipChange,
  type Message,
  type MessageChangeResult,
  type SendMessageResult,
  type ServerToClientEvents,
} from '@parley/contracts';
import { inSpan } from '@parley/observability';
import type { Namespace, Socket } from 'socket.io';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RedisService } from '../redis/redis.service.js';
import { ConversationUpdates } from './conversation-updates.service.js';
import { DirectDelivery } from './direct-delivery.js';
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
 * "Once" holds across retries: the chats service answers `created` exactly once per message (to the request that
 * stored it), and the gateway holding that answer marks the message in Redis as it broadcasts, without waiting for
 * Redis. A repeat (a retry with the same `client_message_id`, or a request handled again after its chats instance
 * died) broadcasts only if it is the first to set the mark (SET NX): the gateway that stored it died between the
 * commit and the broadcast, or the chats instance died before answering. Changes of a message (`message-updated`)
 * are marked by the message and the version the change took, SET NX first.
 *
 * Fan-out scales with the group, not with its members: `receive-message` is one broadcast to the conversation's
 * room. `conversation-updated` carries each member's own unread count, role and mute, so it cannot be one
 * broadcast: a group's is coalesced (ConversationUpdates). A direct conversation's new message goes as one packet
 * per member, carrying both events (DirectDelivery).
 */
@Injectable()
export class ChatEvents {
  private nsp?: Namespace<Record<string, never>, ServerToClientEvents>;
  private readonly logger = new Logger('ChatEvents');

  constructor(
    private readonly redis: RedisService,
    private readonly updates: ConversationUpdates,
    private readonly direct: DirectDelivery,
    private readonly metrics: RealtimeMetrics,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  attach(nsp: Namespace<Record<string, never>, ServerToClientEvents>): void {
    this.nsp = nsp;
    this.updates.attach(nsp);
    this.direct.attach(nsp);
  }

  /**
   * `receive-message` to the conversation's room (without the sending socket, which gets `message-sent`, and
   * without the sockets of users who just left), and `conversation-updated` to its members, unless the message
   * was broadcast already. Broadcasts of one caller keep its order (one Redis connection answers in order). Traced
   * as `broadcast message.new`, a child of the send's span.
   */
  messageStored(result: SendMessageResult, from?: Socket): void {
    if (!this.nsp) return;
    inSpan('broadcast message.new', () => this.broadcastStored(result, from), {
      attributes: { 'parley.message.id': result.message.id, 'parley.created': result.created },
    });
  }

  private broadcastStored(result: SendMessageResult, from?: Socket): void {
    const { message } = result;
    const mark = `broadcast:${message.id}`;
    if (result.created && result.views !== null && this.config.broadcastMode === 'direct') {
      // A direct conversation's new message: the mark and one packet per member in one script (DirectDelivery).
      this.direct.deliver(result, mark, MARK_TTL_MS, from?.id ?? null);
      return;
    }
    if (result.created) {
      // The one answer that stored it: no gateway can have broadcast it yet, so nothing to wait for. The mark goes
      // first (a retry must see it), in the same turn as the broadcast.
      this.mark(mark);
      this.toRoom(message, result.excluded_user_ids, from);
      this.conversationUpdated(result.conversation, result.views).catch((err: unknown) =>
        this.logger.warn(`conversation-updated of ${message.id} failed: ${(err as Error).message}`),
      );
      return;
    }
    if (Date.now() - Date.parse(message.timestamp) > REPEAT_WINDOW_MS) return;
    this.once(mark, false, async () => {
      this.metrics.lateBroadcasts.inc();
      this.toRoom(message, result.excluded_user_ids, from);
      // A repeat carries no member views: its conversation has moved on, so read it afresh.
      await this.conversationUpdated(result.conversation, null);
    });
  }

  /**
   * `message-updated` to the conversation's room (every socket, the actor's too; not the users who just left),
   * once per change (marked by the message's new version, as a send is by its id). When the message is the
   * conversation's latest and its text changed, lists show it: a coalesced `conversation-updated` round follows.
   */
  messageChanged(result: MessageChangeResult): void {
    const { message, change } = result;
    if (!this.nsp || !change) return;
    this.once(`broadcast:${message.id}:${message.version}`, true, async () => {
      this.room(message.conversation_id, result.excluded_user_ids).emit(ServerEvent.MessageUpdated, {
        message,
        change,
      });
      if (result.last && (change.kind === 'edited' || change.kind === 'deleted')) {
        await this.updates.coalesce(message.conversation_id);
      }
    });
  }

  /** Records that `mark` was broadcast, for the retries that will ask (`once`). */
  private mark(mark: string): void {
    this.redis.commands
      .set(this.redis.key(mark), '1', 'PX', MARK_TTL_MS)
      .catch((err: unknown) => this.logger.warn(`broadcast mark ${mark} not set: ${(err as Error).message}`));
  }

  /**
   * Runs `broadcast` unless a gateway already did for `mark` (SET NX in Redis). Without Redis the mark cannot be
   * checked: `broadcastWithoutMark` says whether to broadcast anyway (twice beats not at all, for new work).
   */
  private once(mark: string, broadcastWithoutMark: boolean, broadcast: () => Promise<void>): void {
    this.redis.commands
      .set(this.redis.key(mark), '1', 'PX', MARK_TTL_MS, 'NX')
      .then(
        (ok) => ok !== null,
        (err: unknown) => {
          this.logger.warn(`broadcast mark ${mark} not set: ${(err as Error).message}`);
          return broadcastWithoutMark;
        },
      )
      .then((first) => (first ? broadcast() : undefined))
      .catch((err: unknown) => this.logger.warn(`broadcast ${mark} failed: ${(err as Error).message}`));
  }

  /**
   * A membership or group change: its system messages to the room, then the removed members' sockets leave the
   * room on every instance and get `conversation-removed`, the added members get `conversation-updated` at once
   * and the others a coalesced round. Awaited by the change's caller, so the removal is acknowledged only after the
   * leave was published to every gateway (socketsLeave is a publish, and a gateway may process it a moment later;
   * a send committed after the removal is never broadcast to the removed users anyway: its result names them in
   * `excluded_user_ids`).
   */
  async membershipChanged(change: MembershipChange): Promise<void> {
    const nsp = this.nsp;
    if (!nsp) return;
    for (const message of change.messages) this.toRoom(message, change.excluded_user_ids);
    if (change.removed_user_ids.length > 0) {
      const rooms = change.removed_user_ids.map(Rooms.user);
      const conversationId = change.conversation.id;
      nsp.in(rooms).socketsLeave(Rooms.conversation(conversationId));
      nsp.to(rooms).emit(ServerEvent.ConversationRemoved, { conversationId });
    }
    this.updates.emit(change.conversation, change.added_views);
    const everyoneJustAdded = change.added_user_ids.length === change.conversation.member_count;
    if (change.messages.length > 0 && !everyoneJustAdded) await this.updates.coalesce(change.conversation.id);
  }

  /** `messages-read` to the conversation's room and to every socket of the reader. */
  readMarkMoved(conversationId: Id, userId: Id, seq: number): void {
    this.nsp
      ?.to([Rooms.conversation(conversationId), Rooms.user(userId)])
      .emit(ServerEvent.MessagesRead, { conversationId, userId, seq });
  }

  /** `user-typing` to the conversation's room, but the socket it came from. */
  typing(conversationId: Id, userId: Id, isTyping: boolean, fromSocketId: string): void {
    this.nsp
      ?.to(Rooms.conversation(conversationId))
      .except(fromSocketId)
      .emit(ServerEvent.UserTyping, { conversationId, userId, isTyping });
  }

  private toRoom(message: Message, excluded: Id[], from?: Socket): void {
    this.room(message.conversation_id, excluded, from).emit(ServerEvent.ReceiveMessage, message);
  }

  /** The conversation's room, without the users who just left (and without `from`, the sending socket). */
  private room(conversationId: Id, excluded: Id[], from?: Socket) {
    const room = Rooms.conversation(conversationId);
    const target = from ? from.to(room) : this.nsp!.to(room);
    return excluded.length > 0 ? target.except(excluded.map(Rooms.user)) : target;
  }

  /** One broadcast per distinct view, or (views null: a group) a coalesced round. */
  private async conversationUpdated(
    state: ConversationState,
    views: MemberViewGroup[] | null,
  ): Promise<void> {
    if (views === null) await this.updates.coalesce(state.id);
    else this.updates.emit(state, views);
  }
}
