import { Injectable } from '@nestjs/common';
import type { RpcRequest, RpcResponse, User } from '@parley/contracts';
import { Errors } from '../common/domain.error.js';
import { toUser, type UserRow } from '../common/rows.js';
import { Db } from '../database/db.service.js';

@Injectable()
export class UsersService {
  constructor(private readonly db: Db) {}

  async register(req: RpcRequest<'users.register'>): Promise<User> {
    const rows: UserRow[] = await this.db.query({
      text: `INSERT INTO users (username, username_key, display_name, password_hash)
       VALUES ($1::text, lower($1::text), $2, $3)
       ON CONFLICT (username_key) DO NOTHING
       RETURNING id, username, display_name, created_at`,
      values: [req.username, req.display_name ?? req.username, req.password_hash],
    });
    if (rows.length === 0) throw Errors.usernameTaken();
    return toUser(rows[0]!);
  }

  async findCredentials(
    req: RpcRequest<'users.find-credentials'>,
  ): Promise<RpcResponse<'users.find-credentials'>> {
    const rows: (UserRow & { password_hash: string })[] = await this.db.query({
      text: `SELECT id, username, display_name, created_at, password_hash FROM users WHERE username_key = lower($1)`,
      values: [req.username],
    });
    const row = rows[0];
    return row ? { user: toUser(row), password_hash: row.password_hash } : null;
  }

  async findByUsername(req: RpcRequest<'users.find-by-username'>): Promise<User> {
    const rows: UserRow[] = await this.db.query({
      text: `SELECT id, username, display_name, created_at FROM users WHERE username_key = lower($1)`,
      values: [req.username],
    });
    if (rows.length === 0) throw Errors.userNotFound();
    return toUser(rows[0]!);
  }

  async get(req: RpcRequest<'users.get'>): Promise<User> {
    const rows: UserRow[] = await this.db.query({
      text: `SELECT id, username, display_name, created_at FROM users WHERE id = $1`,
      values: [req.user_id],
    });
    if (rows.length === 0) throw Errors.userNotFound();
    return toUser(rows[0]!);
  }

  /** Everyone who shares a conversation with the user (index scans of the user's participant rows). */
  async contacts(req: RpcRequest<'users.contacts'>): Promise<RpcResponse<'users.contacts'>> {
    const rows: { user_id: number }[] = await this.db.query({
      name: 'parley_contacts',
      text: `SELECT DISTINCT other.user_id
             FROM conversation_participants mine
             JOIN conversation_participants other ON other.conversation_id = mine.conversation_id
             WHERE mine.user_id = $1 AND other.user_id <> $1`,
      values: [req.user_id],
    });
    return { user_ids: rows.map((r) => r.user_id) };
  }
}
