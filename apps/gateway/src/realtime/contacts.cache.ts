import { Injectable } from '@nestjs/common';
import type { Id } from '@parley/contracts';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

const TTL_MS = 10_000;

/**
 * Who shares a conversation with a user (the audience of their presence), kept for 10 s so that a burst of
 * reconnects does not turn into a burst of identical queries. A conversation started in those 10 s may miss one
 * presence event; the next connect or disconnect corrects it.
 */
@Injectable()
export class ContactsCache {
  private readonly entries = new Map<Id, { ids: Id[]; expires: number }>();

  constructor(private readonly rpc: ChatsRpcClient) {}

  async get(userId: Id): Promise<Id[]> {
    const now = Date.now();
    const hit = this.entries.get(userId);
    if (hit && hit.expires > now) return hit.ids;
    const { user_ids } = await this.rpc.call('users.contacts', { user_id: userId });
    if (this.entries.size > 50_000) this.entries.clear();
    this.entries.set(userId, { ids: user_ids, expires: now + TTL_MS });
    return user_ids;
  }
}
