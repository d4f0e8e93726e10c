import { CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { UserEntity } from './user.entity.js';

/** `blocker` blocked `blocked`: no new direct conversation, messages, presence or typing between them. */
@Entity('user_blocks')
@Index('user_blocks_blocked_idx', ['blockedId'])
export class UserBlockEntity {
  @PrimaryColumn({ name: 'blocker_id', type: 'bigint', primaryKeyConstraintName: 'user_blocks_pkey' })
  blockerId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'blocker_id', foreignKeyConstraintName: 'user_blocks_blocker_id_fkey' })
  blocker?: UserEntity;

  @PrimaryColumn({ name: 'blocked_id', type: 'bigint', primaryKeyConstraintName: 'user_blocks_pkey' })
  blockedId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'blocked_id', foreignKeyConstraintName: 'user_blocks_blocked_id_fkey' })
  blocked?: UserEntity;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
