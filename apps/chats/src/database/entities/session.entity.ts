import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { UserEntity } from './user.entity.js';

/**
 * A login (or registration) and everything it led to: one row whatever the number of refreshes. Only the current
 * refresh token (`current_jti`) works; the one it replaced (`previous_jti`) gets the current one back for a few
 * seconds after the rotation (two tabs refreshing at once), and any older one presented again ends the session
 * (a stolen copy, replayed). Access tokens name the session (`sid`), so ending it ends them too. Used tokens are
 * not kept: a replay is recognized by its session id, which every refresh token carries.
 */
@Entity('sessions')
@Index('sessions_current_jti_key', ['currentJti'], { unique: true })
@Index('sessions_user_live_idx', ['userId'], { where: '"ended_at" IS NULL' })
@Index('sessions_ended_at_idx', ['endedAt'], { where: '"ended_at" IS NOT NULL' })
@Index('sessions_expires_at_idx', ['expiresAt'])
export class SessionEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'sessions_pkey' })
  id: string;

  @Column({ name: 'user_id', type: 'bigint' })
  userId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'sessions_user_id_fkey' })
  user?: UserEntity;

  @Column({ name: 'current_jti', type: 'uuid' })
  currentJti: string;

  @Column({ name: 'previous_jti', type: 'uuid', nullable: true })
  previousJti: string | null;

  @Column({ name: 'rotated_at', type: 'timestamptz', nullable: true })
  rotatedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** When the current refresh token expires (every rotation moves it). */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt: Date | null;

  /** logout, logout-all, reuse (a replayed refresh token), migrated (ended before sessions existed). */
  @Column({ name: 'end_reason', type: 'varchar', length: 16, nullable: true })
  endReason: string | null;
}
