import { Injectable, Logger } from '@nestjs/common';
import {
  conversationFor,
  Rooms,
  ServerEvent,
  type Conversation,
  type Id,
  type Message,
  type SendMessageResult,
  type ServerToClientEvents,
} from '@parley/contracts';
import type { Namespace } from 'socket.io';
import { RedisService } from '../redis/redis.service.js';

/** The adapter message type of a delivery (the adapter's own types are 0–12; it ignores any other). */
const DIRECT_DELIVERY = 100;

/** What one member's gateways receive for a new message of a direct conversation. */
interface Delivery {
  /** The member. */
  user: Id;
  message: Message;
  /** The conversation as this member sees it (their unread count). */
  conversation: Conversation;
  /** The sending socket, which gets `message-sent` instead of `receive-message`. */
  from: string | null;
}

/** The adapter's wire message, as its `onMessage` receives it parsed. */
interface AdapterMessage {
  uid: string;
  nsp: string;
  type: number;
  data: unknown;
}

type ChatNamespace = Namespace<Record<string, never>, ServerToClientEvents>;
type ClusterAdapter = {
  uid: string;
  rooms: Map<string, Set<string>>;
  onMessage(message: AdapterMessage, offset?: string): unknown;
};

/**
 * A new message of a direct conversation, in one Redis call: its broadcast-once mark, and one packet per member on
 * that member's own channel (the sharded adapter's channel of the room `user:<id>`, which every gateway holding a
 * socket of that user subscribes to). Each gateway expands a packet locally into `receive-message` (the member's
 * sockets in the conversation's room, but the sending socket) and `conversation-updated` (all the member's sockets,
 * with their own unread count), in that order. It replaces the mark's SET and three adapter broadcasts (one to the
 * conversation's room, one to each member's room): two publishes instead of three, and each gateway gets one packet
 * per member it holds instead of two.
 *
 * The packets ride on the adapter's own subscriber connection: this gateway's `onMessage` is wrapped to take them
 * (the adapter ignores a type it does not know, so an older gateway drops them instead of misreading them). This
 * gateway's own sockets get theirs at once, before the publish (the adapter skips its own packets the same way).
 */
@Injectable()
export class DirectDelivery {
  private nsp?: ChatNamespace;
  private adapter?: ClusterAdapter;
  private readonly logger = new Logger('DirectDelivery');

  constructor(private readonly redis: RedisService) {
    redis.adapterPub.defineCommand('parleyDeliverDirect', { numberOfKeys: 1, lua: DELIVER_DIRECT });
  }

  attach(nsp: ChatNamespace): void {
    this.nsp = nsp;
    const adapter = nsp.adapter as unknown as ClusterAdapter;
    this.adapter = adapter;
    const onMessage = adapter.onMessage.bind(adapter);
    adapter.onMessage = (message, offset) => {
      if (message?.type !== DIRECT_DELIVERY) return onMessage(message, offset);
      if (message.uid !== adapter.uid && message.nsp === nsp.name) this.emitLocally(message.data as Delivery);
    };
  }

  /**
   * Delivers a message the chats service just created in a direct conversation, marking it broadcast (`mark`, for
   * the retries that will ask) in the same script.
   */
  deliver(result: SendMessageResult, mark: string, markTtlMs: number, from: string | null): void {
    const nsp = this.nsp;
    const adapter = this.adapter;
    if (!nsp || !adapter || !result.views) return;
    const excluded = new Set(result.excluded_user_ids);
    const args: (string | number)[] = [markTtlMs];
    for (const group of result.views) {
      const conversation = conversationFor(result.conversation, group.view);
      for (const user of group.user_ids) {
        if (excluded.has(user)) continue;
        const delivery: Delivery = { user, message: result.message, conversation, from };
        this.emitLocally(delivery);
        args.push(
          this.channel(user),
          JSON.stringify({ uid: adapter.uid, nsp: nsp.name, type: DIRECT_DELIVERY, data: delivery }),
        );
      }
    }
    this.publish(this.redis.key(mark), args).catch((err: unknown) =>
      this.logger.warn(`delivery of ${result.message.id} not published: ${(err as Error).message}`),
    );
  }

  /**
   * The mark and the packets in one script on a single Redis. On a Redis Cluster a script may only touch its own
   * slot, and each member's channel has its own: the mark and each SPUBLISH go to their slots' nodes, all in this
   * turn (the mark is not atomic with the publishes there; a retry that finds it sees a broadcast already sent).
   */
  private async publish(markKey: string, [ttlMs, ...pairs]: (string | number)[]): Promise<void> {
    const pub = this.redis.adapterPub;
    if (!this.redis.cluster) {
      await (pub as unknown as DeliverScript).parleyDeliverDirect(markKey, ttlMs!, ...pairs);
      return;
    }
    const sent: Promise<unknown>[] = [pub.set(markKey, '1', 'PX', ttlMs!)];
    for (let i = 0; i < pairs.length; i += 2) sent.push(pub.spublish(String(pairs[i]), String(pairs[i + 1])));
    await Promise.all(sent);
  }

  /** This gateway's part of a delivery: the member's sockets here. */
  private emitLocally({ user, message, conversation, from }: Delivery): void {
    const nsp = this.nsp!;
    const sockets = this.adapter!.rooms.get(Rooms.user(user));
    if (!sockets) return;
    const inRoom = this.adapter!.rooms.get(Rooms.conversation(message.conversation_id));
    const receivers = inRoom ? [...sockets].filter((sid) => sid !== from && inRoom.has(sid)) : [];
    if (receivers.length > 0) nsp.local.to(receivers).emit(ServerEvent.ReceiveMessage, message);
    nsp.local.to(Rooms.user(user)).emit(ServerEvent.ConversationUpdated, { conversation });
  }

  /** The sharded adapter's channel of the room `user:<id>` (`dynamic` mode: `<prefix>#<nsp>#<room>#`). */
  private channel(user: Id): string {
    return `${this.redis.key('io')}#${this.nsp!.name}#${Rooms.user(user)}#`;
  }
}

interface DeliverScript {
  parleyDeliverDirect(markKey: string, ...args: (string | number)[]): Promise<unknown>;
}

/** The mark (KEYS[1], for ARGV[1] ms), then each (channel, packet) pair of ARGV[2..] published. */
const DELIVER_DIRECT = `
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
for i = 2, #ARGV, 2 do redis.call('SPUBLISH', ARGV[i], ARGV[i + 1]) end
return 0`;
