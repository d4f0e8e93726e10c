import { Injectable } from '@nestjs/common';
import type { Id, User } from '@parley/contracts';
import { RateLimits } from '../common/rate-limits.service.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

/** Public profiles (id, username, display name). Lookups are rate limited: usernames are not to be harvested. */
@Injectable()
export class UsersService {
  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly limits: RateLimits,
  ) {}

  async get(callerId: Id, userId: Id): Promise<User> {
    await this.limits.consume('lookups', callerId);
    return this.rpc.call('users.get', { user_id: userId });
  }

  async findByUsername(callerId: Id, username: string): Promise<User> {
    await this.limits.consume('lookups', callerId);
    return this.rpc.call('users.find-by-username', { username });
  }
}
