import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  conversationFor,
  Rooms,
  ServerEvent,
  type ConversationState,
  type Id,
  type MemberViewGroup,
  type ServerToClientEvents,
} from '@parley/contracts';
import type { Namespace } from 'socket.io';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RedisService } from '../redis/redis.service.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';
import { RealtimeMetrics } from './realtime.metrics.js';

/**
 * `conversation-updated`, the event a member's conversation list lives on. It carries each member's own unread
 * count, role and mute, so it is one broadcast per distinct member view: for a direct conversation the send returns
 * both users' views; a group's (and any conversation's after an edit of its latest message) is coalesced: at most
 * one round per CONVERSATION_UPDATE_COALESCE_MS per conversation, whatever the message rate, read fresh from the
 * chats service.
 */
@Injectable()
export class ConversationUpdates {
  private nsp?: Namespace<Record<string, never>, ServerToClientEvents>;
  private readonly logger = new Logger('ConversationUpdates');
  /**
   * Conversations whose coalescing interval this gateway owns, and whether a message arrived here since its last
   * round (then a trailing round follows when the interval ends).
   */
  private readonly coalescing = new Map<Id, { dirty: boolean }>();

  constructor(
    private readonly redis: RedisService,
    private readonly rpc: ChatsRpcClient,
    private readonly metrics: RealtimeMetrics,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    redis.commands.defineCommand('parleyCoalesceClaim', { numberOfKeys: 2, lua: COALESCE_CLAIM });
    redis.commands.defineCommand('parleyCoalesceEnd', { numberOfKeys: 2, lua: COALESCE_END });
  }

  attach(nsp: Namespace<Record<string, never>, ServerToClientEvents>): void {
    this.nsp = nsp;
  }

  /** One broadcast per distinct member view, to those members' sockets. */
  emit(state: ConversationState, views: MemberViewGroup[]): void {
    for (const group of views) {
      this.nsp?.to(group.user_ids.map(Rooms.user)).emit(ServerEvent.ConversationUpdated, {
        conversation: conversationFor(state, group.view),
      });
    }
  }

  /**
   * A round of `conversation-updated` for the group now, unless one ran within the interval (then one runs when the
   * interval ends). Across gateways: the one that claims the group's Redis key (SET NX) owns the interval and runs a
   * round at once (the first message of a quiet group is not delayed); a gateway that finds it claimed marks it
   * dirty in the same script. At the end of the interval the owner, in one script, either sees a mark (or its own)
   * and keeps the key for the next interval, which starts with a round, or deletes the key: no mark can fall between
   * the two. Each round reads the state after every message it covers was committed.
   */
  async coalesce(conversationId: Id): Promise<void> {
    const owned = this.coalescing.get(conversationId);
    if (owned) {
      owned.dirty = true;
      return;
    }
    const { key, dirtyKey, windowMs } = this.coalesceKeys(conversationId);
    const claimed = await this.coalesceScripts.parleyCoalesceClaim(key, dirtyKey, windowMs);
    if (claimed === 1) this.ownInterval(conversationId);
  }

  private ownInterval(conversationId: Id): void {
    const { key, dirtyKey, windowMs } = this.coalesceKeys(conversationId);
    const state = { dirty: false };
    this.coalescing.set(conversationId, state);
    this.round(conversationId);
    setTimeout(() => {
      // From here a local message goes through the claim script, so the end script below sees it.
      this.coalescing.delete(conversationId);
      this.coalesceScripts
        .parleyCoalesceEnd(key, dirtyKey, windowMs, state.dirty ? 1 : 0)
        .then((again) => (again === 1 ? this.ownInterval(conversationId) : undefined))
        .catch((err: unknown) =>
          this.logger.warn(`coalesced update of ${conversationId} lost: ${(err as Error).message}`),
        );
    }, windowMs).unref();
  }

  private coalesceKeys(conversationId: Id) {
    // One hash tag for the key and its dirty mark: the scripts touch both, which on a Redis Cluster must share a slot.
    const key = this.redis.key(`conversation-updated:{${conversationId}}`);
    return { key, dirtyKey: `${key}:dirty`, windowMs: this.config.conversationUpdateCoalesceMs };
  }

  private get coalesceScripts(): CoalesceScripts {
    return this.redis.commands as unknown as CoalesceScripts;
  }

  private round(conversationId: Id): void {
    this.rpc
      .call('conversations.member-views', { conversation_id: conversationId })
      .then(({ conversation, views }) => {
        this.metrics.coalescedUpdates.inc();
        this.emit(conversation, views);
      })
      .catch((err: unknown) =>
        this.logger.warn(`conversation-updated of ${conversationId} not sent: ${(err as Error).message}`),
      );
  }
}

interface CoalesceScripts {
  parleyCoalesceClaim(key: string, dirtyKey: string, windowMs: number): Promise<number>;
  parleyCoalesceEnd(key: string, dirtyKey: string, windowMs: number, dirty: 0 | 1): Promise<number>;
}

/**
 * Claims the group's interval (1), or marks it dirty for its owner (0), atomically. The owner deletes the key at
 * the end of its interval; the expiry only frees it when the owner died (a later update then waits three intervals).
 */
const COALESCE_CLAIM = `
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', tonumber(ARGV[1]) * 3) then return 1 end
redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[1]) * 3)
return 0`;

/** The end of the owner's interval: another one (1) if anything was marked during it, else the key is freed (0). */
const COALESCE_END = `
local marked = redis.call('GETDEL', KEYS[2])
if marked or ARGV[2] == '1' then
  redis.call('SET', KEYS[1], '1', 'PX', tonumber(ARGV[1]) * 3)
  return 1
end
redis.call('DEL', KEYS[1])
return 0`;
