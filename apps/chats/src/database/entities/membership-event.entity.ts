import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { ConversationEntity } from './conversation.entity.js';
import { UserEntity } from './user.entity.js';

/**
 * Every change of a conversation's membership, kept after the member is gone: who was added, removed, left or
 * changed role, by whom, at which seq (its system message). `(conversation_id, created_at)` finds the recent
 * removals a send must not be broadcast to.
 */
@Entity('membership_events')
@Index('membership_events_conversation_idx', ['conversationId', 'createdAt'])
@Index('membership_events_user_idx', ['userId'])
@Check('membership_events_action_check', `"action" IN ('added', 'removed', 'left', 'role_changed')`)
export class MembershipEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'membership_events_pkey' })
  id: string;

  @Column({ name: 'conversation_id', type: 'bigint' })
  conversationId: string;

  @ManyToOne(() => ConversationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'membership_events_conversation_id_fkey' })
  conversation?: ConversationEntity;

  @Column({ name: 'user_id', type: 'bigint' })
  userId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'membership_events_user_id_fkey' })
  user?: UserEntity;

  /** Who made the change (null for the members of conversations that predate groups). */
  @Column({ name: 'actor_id', type: 'bigint', nullable: true })
  actorId: string | null;

  @Column({ type: 'varchar', length: 16 })
  action: 'added' | 'removed' | 'left' | 'role_changed';

  /** The member's role after the change. */
  @Column({ type: 'varchar', length: 8, nullable: true })
  role: string | null;

  /** The seq of the change's system message. */
  @Column({ type: 'bigint', nullable: true })
  seq: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
