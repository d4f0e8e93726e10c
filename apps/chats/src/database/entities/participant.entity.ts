import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
} from 'typeorm';
import { ConversationEntity } from './conversation.entity.js';
import { UserEntity } from './user.entity.js';

/**
 * A user's membership of a conversation: their role, read mark, mute and the conversation's place in their list.
 * A member who leaves or is removed loses the row (their history stays in `membership_events`).
 */
@Entity('conversation_participants')
@Check('conversation_participants_role_check', `"role" IN ('owner', 'admin', 'member')`)
@Index('conversation_participants_user_activity_idx', ['userId', 'activity'])
export class ParticipantEntity {
  @PrimaryColumn({
    name: 'conversation_id',
    type: 'bigint',
    primaryKeyConstraintName: 'conversation_participants_pkey',
  })
  conversationId: string;

  @PrimaryColumn({
    name: 'user_id',
    type: 'bigint',
    primaryKeyConstraintName: 'conversation_participants_pkey',
  })
  userId: string;

  @ManyToOne(() => ConversationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'conversation_id',
    foreignKeyConstraintName: 'conversation_participants_conversation_id_fkey',
  })
  conversation?: ConversationEntity;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'conversation_participants_user_id_fkey' })
  user?: UserEntity;

  /** Every message with a seq up to this one counts as read. Never moves back. */
  @Column({ name: 'last_read_seq', type: 'bigint', default: 0 })
  lastReadSeq: string;

  /** `owner` and `admin` exist in groups only; both members of a direct conversation are `member`. */
  @Column({ type: 'varchar', length: 8, default: 'member' })
  role: 'owner' | 'admin' | 'member';

  /** The conversation's `unread_total` at the read mark: unread is `conversations.unread_total - read_total`. */
  @Column({ name: 'read_total', type: 'bigint', default: 0 })
  readTotal: string;

  /** Muted (no notifications) until `muted_until`, or for good when that is null. */
  @Column({ type: 'boolean', default: false })
  muted: boolean;

  @Column({ name: 'muted_until', type: 'timestamptz', nullable: true })
  mutedUntil: Date | null;

  /**
   * The conversation's place in this user's list, from `conversation_activity_seq`, so `(user_id, activity)`
   * lists a user's conversations by recent activity with an index range scan. Moved on every message for direct
   * conversations and groups of at most GROUP_FANOUT_MAX members; null for the members of larger groups, whose
   * place is the conversation's own `activity` (moving a thousand rows per message would cost more than reading
   * the few large groups a user is in).
   */
  @Column({ type: 'bigint', nullable: true })
  activity: string | null;

  @CreateDateColumn({ name: 'joined_at', type: 'timestamptz' })
  joinedAt: Date;
}
