import { Injectable } from '@nestjs/common';
import type { RpcRequest, RpcResponse } from '@parley/contracts';
import { Errors } from '../common/domain.error.js';
import { toUserProfile, USER_COLUMNS, type UserProfileRow } from '../common/rows.js';
import { Db } from '../database/db.service.js';

/** Seed 001's roles and mentor assignments (set through the gateway's admin API). */
@Injectable()
export class MentorsService {
  constructor(private readonly db: Db) {}

  async setRole(req: RpcRequest<'users.set-role'>): Promise<RpcResponse<'users.set-role'>> {
    const [row] = await this.db.query<UserProfileRow>({
      text: `UPDATE users SET role = $2 WHERE id = $1 RETURNING ${USER_COLUMNS}, role`,
      values: [req.user_id, req.role],
    });
    if (!row) throw Errors.userNotFound();
    return toUserProfile(row);
  }

  /** Assigns (or, with no mentor, removes) the student's mentor, who must be a TEACHER or TRAINER. */
  async assign(req: RpcRequest<'mentors.assign'>): Promise<RpcResponse<'mentors.assign'>> {
    if (req.mentor_id === null) {
      await this.db.query({
        text: `DELETE FROM mentor_assignments WHERE student_id = $1`,
        values: [req.student_id],
      });
      return { student_id: req.student_id, mentor_id: null };
    }
    const rows = await this.db.query<{ id: number; role: string | null }>({
      text: `SELECT id, role FROM users WHERE id = ANY($1::bigint[])`,
      values: [[req.student_id, req.mentor_id]],
    });
    const mentor = rows.find((r) => Number(r.id) === req.mentor_id);
    if (!mentor || !rows.some((r) => Number(r.id) === req.student_id)) throw Errors.userNotFound();
    if (mentor.role !== 'TEACHER' && mentor.role !== 'TRAINER') throw Errors.mentorRole();
    if (req.student_id === req.mentor_id) throw Errors.selfConversation();
    await this.db.query({
      text: `INSERT INTO mentor_assignments (student_id, mentor_id) VALUES ($1, $2)
             ON CONFLICT (student_id) DO UPDATE SET mentor_id = EXCLUDED.mentor_id, assigned_at = now()`,
      values: [req.student_id, req.mentor_id],
    });
    return { student_id: req.student_id, mentor_id: req.mentor_id };
  }

  async mentorOf(req: RpcRequest<'mentors.of'>): Promise<RpcResponse<'mentors.of'>> {
    const [row] = await this.db.query<{ mentor_id: string }>({
      text: `SELECT mentor_id FROM mentor_assignments WHERE student_id = $1`,
      values: [req.student_id],
    });
    return { mentor_id: row ? Number(row.mentor_id) : null };
  }
}
