import { Injectable } from '@nestjs/common';
import { Limits, type RpcRequest, type RpcResponse } from '@parley/contracts';
import { Errors } from '../common/domain.error.js';
import { pgCode, toUser, type UserRow } from '../common/rows.js';
import { Db } from '../database/db.service.js';

const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Blocks between users. Enforced where the data is: creating a direct conversation, each send into one
 * (parley_send_messages), typing (the membership check) and presence (the contacts query) all read `user_blocks`.
 */
@Injectable()
export class BlocksService {
  constructor(private readonly db: Db) {}

  /** Blocks `target_id` (idempotent); at most Limits.blocksMax blocks per user. */
  async block(req: RpcRequest<'users.block'>): Promise<RpcResponse<'users.block'>> {
    if (req.user_id === req.target_id) throw Errors.cannotBlockSelf();
    let rows: { outcome: string }[];
    try {
      rows = await this.db.query({
        text: `WITH existing AS (
                 SELECT count(*) AS n, bool_or(blocked_id = $2) AS already FROM user_blocks WHERE blocker_id = $1
               ), ins AS (
                 INSERT INTO user_blocks (blocker_id, blocked_id)
                 SELECT $1, $2 FROM existing WHERE NOT coalesce(existing.already, false) AND existing.n < $3
                 ON CONFLICT DO NOTHING
                 RETURNING 1
               )
               SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN 'blocked'
                           WHEN (SELECT coalesce(already, false) FROM existing) THEN 'already'
                           ELSE 'full' END AS outcome`,
        values: [req.user_id, req.target_id, Limits.blocksMax],
      });
    } catch (err) {
      if (pgCode(err) === FOREIGN_KEY_VIOLATION) throw Errors.userNotFound();
      throw err;
    }
    if (rows[0]!.outcome === 'full') throw Errors.tooManyBlocks();
    return { blocked: rows[0]!.outcome === 'blocked' };
  }

  async unblock(req: RpcRequest<'users.unblock'>): Promise<RpcResponse<'users.unblock'>> {
    const rows = await this.db.query({
      text: `DELETE FROM user_blocks WHERE blocker_id = $1 AND blocked_id = $2 RETURNING 1`,
      values: [req.user_id, req.target_id],
    });
    return { unblocked: rows.length > 0 };
  }

  /** The users the caller blocked, oldest block first. */
  async list(req: RpcRequest<'users.blocks'>): Promise<RpcResponse<'users.blocks'>> {
    const rows = await this.db.query<UserRow>({
      text: `SELECT u.id, u.username, u.display_name, u.created_at
             FROM user_blocks b JOIN users u ON u.id = b.blocked_id
             WHERE b.blocker_id = $1 ORDER BY b.created_at, b.blocked_id LIMIT $2`,
      values: [req.user_id, Limits.blocksMax],
    });
    return { users: rows.map(toUser) };
  }
}
