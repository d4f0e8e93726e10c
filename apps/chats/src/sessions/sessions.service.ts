import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Id, RpcRequest, RpcResponse } from '@parley/contracts';
import { CHATS_CONFIG, type ChatsConfig } from '../config/chats.config.js';
import { Db, type Querier } from '../database/db.service.js';

type SessionStart = RpcRequest<'users.login'>['session'];

interface SessionRow {
  id: string;
  current_jti: string;
  previous_jti: string | null;
  live: boolean;
  in_grace: boolean;
}

/** Rows purged per statement: short transactions, however much has piled up. */
const PURGE_BATCH = 1000;

/**
 * Sessions (see SessionEntity): started by a login or a registration, kept alive by refreshes, ended by logout,
 * logout-all or a replayed refresh token. Ended and expired sessions are purged after SESSION_RETENTION_SECONDS.
 */
@Injectable()
export class SessionsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Sessions');
  private purgeTimer?: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    @Inject(CHATS_CONFIG) private readonly config: ChatsConfig,
  ) {}

  onModuleInit(): void {
    this.schedulePurge();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.purgeTimer);
  }

  /** Inserts a new session (inside the caller's transaction). A repeat of the same request inserts nothing. */
  async start(tx: Querier, userId: Id, session: SessionStart): Promise<void> {
    await tx.query({
      text: `INSERT INTO sessions (id, user_id, current_jti, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))
             ON CONFLICT (id) DO NOTHING`,
      values: [session.id, userId, session.jti, session.ttl_seconds],
    });
  }

  /**
   * One refresh. In order: the current token rotates; this very request handled a second time (its consumer died
   * after the commit) finds its own rotation; the token just replaced, within the grace, gets the current one
   * (two tabs); anything else of a live session is a replay, which ends it.
   */
  rotate(req: RpcRequest<'sessions.rotate'>): Promise<RpcResponse<'sessions.rotate'>> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<SessionRow>({
        text: `SELECT id, current_jti, previous_jti,
                      ended_at IS NULL AND expires_at > now() AS live,
                      coalesce(rotated_at > now() - make_interval(secs => $4), false) AS in_grace
               FROM sessions
               WHERE user_id = $1 AND (id = $2 OR ($2::uuid IS NULL AND current_jti = $3))
               FOR UPDATE`,
        values: [req.user_id, req.session_id, req.jti, req.grace_seconds],
      });
      if (!row?.live) return { status: 'refused', ended_session_id: null };
      if (row.current_jti === req.jti) {
        await tx.query({
          text: `UPDATE sessions SET previous_jti = current_jti, current_jti = $2, rotated_at = now(),
                   expires_at = now() + make_interval(secs => $3)
                 WHERE id = $1`,
          values: [row.id, req.new_jti, req.ttl_seconds],
        });
        return { status: 'rotated', session_id: row.id, jti: req.new_jti };
      }
      if (row.current_jti === req.new_jti && row.previous_jti === req.jti) {
        return { status: 'rotated', session_id: row.id, jti: req.new_jti };
      }
      if (row.previous_jti === req.jti && row.in_grace) {
        return { status: 'current', session_id: row.id, jti: row.current_jti };
      }
      await tx.query({
        text: `UPDATE sessions SET ended_at = now(), end_reason = 'reuse' WHERE id = $1`,
        values: [row.id],
      });
      this.logger.warn({ sessionId: row.id, userId: req.user_id }, 'refresh token replayed: session ended');
      return { status: 'refused', ended_session_id: row.id };
    });
  }

  async end(req: RpcRequest<'sessions.end'>): Promise<RpcResponse<'sessions.end'>> {
    const rows = await this.db.query<{ id: string }>({
      text: `UPDATE sessions SET ended_at = now(), end_reason = 'logout'
             WHERE id = $1 AND user_id = $2 AND ended_at IS NULL
             RETURNING id`,
      values: [req.session_id, req.user_id],
    });
    return { ended: rows.map((r) => r.id) };
  }

  /** Ends every live session of the user (an index scan of sessions_user_live_idx). */
  async endAll(req: RpcRequest<'sessions.end-all'>): Promise<RpcResponse<'sessions.end-all'>> {
    const rows = await this.db.query<{ id: string }>({
      text: `UPDATE sessions SET ended_at = now(), end_reason = 'logout-all'
             WHERE user_id = $1 AND ended_at IS NULL
             RETURNING id`,
      values: [req.user_id],
    });
    return { ended: rows.map((r) => r.id) };
  }

  async endedSince(req: RpcRequest<'sessions.ended-since'>): Promise<RpcResponse<'sessions.ended-since'>> {
    const sessions = await this.db.query<{ id: string; user_id: number }>({
      text: `SELECT id, user_id FROM sessions
             WHERE ended_at > now() - make_interval(secs => $1)
             ORDER BY ended_at DESC LIMIT $2`,
      values: [req.seconds, req.limit],
    });
    return { sessions };
  }

  /**
   * Deletes sessions that ended, or whose refresh token expired, more than SESSION_RETENTION_SECONDS ago. Every
   * instance does this; SKIP LOCKED keeps two of them from waiting on each other's rows.
   */
  async purge(): Promise<number> {
    let purged = 0;
    for (;;) {
      const rows = await this.db.query<{ id: string }>({
        text: `DELETE FROM sessions WHERE id IN (
                 SELECT id FROM sessions
                 WHERE ended_at < now() - make_interval(secs => $1)
                    OR expires_at < now() - make_interval(secs => $1)
                 LIMIT $2 FOR UPDATE SKIP LOCKED)
               RETURNING id`,
        values: [this.config.sessionRetentionSeconds, PURGE_BATCH],
      });
      purged += rows.length;
      if (rows.length < PURGE_BATCH) return purged;
    }
  }

  private schedulePurge(): void {
    this.purgeTimer = setTimeout(() => {
      this.purge()
        .then((n) => n > 0 && this.logger.log(`Purged ${n} ended or expired sessions`))
        .catch((err: unknown) => this.logger.warn(`Session purge failed: ${(err as Error).message}`))
        .finally(() => this.schedulePurge());
    }, this.config.sessionPurgeIntervalMs);
    this.purgeTimer.unref();
  }
}
