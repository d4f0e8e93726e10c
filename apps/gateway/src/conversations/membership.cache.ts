import { Injectable } from '@nestjs/common';
import type { Id } from '@parley/contracts';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

const TTL_MS = 30_000;
const MAX_ENTRIES = 100_000;

/**
 * "Is this user a participant of that conversation?", asked on join, typing and mark-read. Only positive answers
 * are kept (30 s): participants of a 1:1 conversation never change, and a refusal is never cached, so the cache
 * cannot let a non-participant in and cannot keep out someone whose conversation was just created.
 */
@Injectable()
export class MembershipCache {
  private readonly members = new Map<string, number>();

  constructor(private readonly rpc: ChatsRpcClient) {}

  /** Resolves when the user may act in the conversation; rejects with the chats service's error otherwise. */
  async check(userId: Id, conversationId: Id): Promise<void> {
    const key = `${userId}:${conversationId}`;
    const expires = this.members.get(key);
    if (expires !== undefined && expires > Date.now()) return;
    await this.rpc.call('conversations.membership', { user_id: userId, conversation_id: conversationId });
    this.remember(key);
  }

  /** Records a membership learnt elsewhere (a successful join). */
  remember(key: string): void {
    if (this.members.size >= MAX_ENTRIES) this.members.clear();
    this.members.set(key, Date.now() + TTL_MS);
  }
}
