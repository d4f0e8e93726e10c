import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { RpcRequest, RpcResponse } from '@parley/contracts';
import { Errors } from '../common/domain.error.js';
import { Db } from '../database/db.service.js';

/**
 * Refresh tokens with rotation: each is usable once and is replaced by a successor in the same family. A token
 * presented after it was used (a stolen copy replayed, or a client that lost the successor) revokes its whole
 * family, so whoever holds the newer token is logged out too (OAuth 2.0 BCP "refresh token reuse detection").
 */
@Injectable()
export class TokensService {
  constructor(private readonly db: Db) {}

  async issue(req: RpcRequest<'tokens.issue'>): Promise<RpcResponse<'tokens.issue'>> {
    const rows: { id: string; expires_at: Date }[] = await this.db.query({
      text: `INSERT INTO refresh_tokens (id, user_id, family_id, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))
       RETURNING id, expires_at`,
      values: [randomUUID(), req.user_id, randomUUID(), req.ttl_seconds],
    });
    return { jti: rows[0]!.id, expires_at: rows[0]!.expires_at.toISOString() };
  }

  async rotate(req: RpcRequest<'tokens.rotate'>): Promise<RpcResponse<'tokens.rotate'>> {
    const result = await this.db.transaction(async (tx) => {
      const used: { family_id: string }[] = await tx.query({
        text: `UPDATE refresh_tokens SET used_at = now()
         WHERE id = $1 AND user_id = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
         RETURNING family_id`,
        values: [req.jti, req.user_id],
      });
      if (used.length === 0) return null;
      const rows: { id: string; expires_at: Date }[] = await tx.query({
        text: `INSERT INTO refresh_tokens (id, user_id, family_id, expires_at)
               VALUES ($1, $2, $3, now() + make_interval(secs => $4))
               RETURNING id, expires_at`,
        values: [randomUUID(), req.user_id, used[0]!.family_id, req.ttl_seconds],
      });
      return { jti: rows[0]!.id, expires_at: rows[0]!.expires_at.toISOString() };
    });
    if (result) return result;
    // Unknown, expired, revoked or reused: in the reuse case, revoke every token of the family.
    await this.db.query({
      text: `UPDATE refresh_tokens SET revoked_at = now()
       WHERE revoked_at IS NULL
         AND family_id = (SELECT family_id FROM refresh_tokens WHERE id = $1 AND user_id = $2 AND used_at IS NOT NULL)`,
      values: [req.jti, req.user_id],
    });
    throw Errors.invalidRefreshToken();
  }
}
