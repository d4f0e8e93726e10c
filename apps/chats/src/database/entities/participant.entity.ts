import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ConversationEntity } from './conversation.entity.js';
import { UserEntity } from './user.entity.js';

/**
 * A user's membership of a conversation, with their read mark and the conversation's place in their list.
 * `activity` is taken from the `conversation_activity_seq` sequence on creation and on every message, so
 * `(user_id, activity)` lists a user's conversations by recent activity with an index range scan.
 */
@Entity('conversation_participants')
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

  @Column({ type: 'bigint' })
  activity: string;

  @CreateDateColumn({ name: 'joined_at', type: 'timestamptz' })
  joinedAt: Date;
}
