import { Injectable } from '@nestjs/common';
import type { Id } from '@parley/contracts';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

const TTL_MS = 10_000;

/**
 * Who shares a conversation with a user (the audience of their presence), kept for 10 s so that a burst of
 * reconnects does not turn into a burst of identical queries. When a conversation is created, every gateway
 * forgets both users' entries (see `PresenceService.contactsAdded`).
 */
@Injectable()
export class ContactsCache {
  private readonly entries = new Map<Id, { ids: Id[]; expires: number }>();
  /** Bumped by `forget`, so that a lookup already under way when the contacts changed is not kept. */
  private generation = 0;

  constructor(private readonly rpc: ChatsRpcClient) {}

  async get(userId: Id): Promise<Id[]> {
    const now = Date.now();
    const hit = this.entries.get(userId);
    if (hit && hit.expires > now) return hit.ids;
    const generation = this.generation;
    const { user_ids } = await this.rpc.call('users.contacts', { user_id: userId });
    if (generation === this.generation) {
      if (this.entries.size > 50_000) this.entries.clear();
      this.entries.set(userId, { ids: user_ids, expires: now + TTL_MS });
    }
    return user_ids;
  }

  forget(...userIds: Id[]): void {
    this.generation++;
    for (const id of userIds) this.entries.delete(id);
  }
}
