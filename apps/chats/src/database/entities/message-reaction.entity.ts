import { CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { MessageEntity } from './message.entity.js';
import { UserEntity } from './user.entity.js';

/**
 * `user` reacted to `message` with `emoji`, once per user and emoji. The key starts with (message, user), so a
 * page's "my reactions" is one index range per message; the counts live on the message (MessageEntity.reactions).
 */
@Entity('message_reactions')
export class MessageReactionEntity {
  @PrimaryColumn({ name: 'message_id', type: 'bigint', primaryKeyConstraintName: 'message_reactions_pkey' })
  messageId: string;

  @ManyToOne(() => MessageEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'message_id', foreignKeyConstraintName: 'message_reactions_message_id_fkey' })
  message?: MessageEntity;

  @PrimaryColumn({ name: 'user_id', type: 'bigint', primaryKeyConstraintName: 'message_reactions_pkey' })
  userId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'message_reactions_user_id_fkey' })
  user?: UserEntity;

  @PrimaryColumn({ type: 'varchar', length: 32, primaryKeyConstraintName: 'message_reactions_pkey' })
  emoji: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
