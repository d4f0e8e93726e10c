import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { UserEntity } from './user.entity.js';

/**
 * A 1:1 conversation. `pair_low`/`pair_high` are its two user ids in order, unique together, which makes
 * creating the conversation of a pair idempotent whichever of the two asks. `last_seq` is the seq of the latest
 * message; sending locks this row to take the next one.
 */
@Entity('conversations')
@Unique('conversations_pair_key', ['pairLow', 'pairHigh'])
@Check('conversations_pair_check', '"pair_low" < "pair_high"')
export class ConversationEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'conversations_pkey' })
  id: string;

  @Column({ name: 'sender_id', type: 'bigint' })
  senderId: string;

  @ManyToOne(() => UserEntity)
  @JoinColumn({ name: 'sender_id', foreignKeyConstraintName: 'conversations_sender_id_fkey' })
  sender?: UserEntity;

  @Column({ name: 'receiver_id', type: 'bigint' })
  receiverId: string;

  @ManyToOne(() => UserEntity)
  @JoinColumn({ name: 'receiver_id', foreignKeyConstraintName: 'conversations_receiver_id_fkey' })
  receiver?: UserEntity;

  @Column({ name: 'pair_low', type: 'bigint' })
  pairLow: string;

  @Column({ name: 'pair_high', type: 'bigint' })
  pairHigh: string;

  @Column({ name: 'last_seq', type: 'bigint', default: 0 })
  lastSeq: string;

  /** The latest message (no foreign key: messages reference conversations, and this is a cache of that). */
  @Column({ name: 'last_message_id', type: 'bigint', nullable: true })
  lastMessageId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
