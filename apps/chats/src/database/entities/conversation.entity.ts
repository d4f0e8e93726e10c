import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { TYPE_CHECK } from '../migrations/1764700000000-groups.js';
import { UserEntity } from './user.entity.js';

/**
 * A conversation: `direct` (two users, for good) or `group`. A direct one's `pair_low`/`pair_high` are its two
 * user ids in order, unique together, which makes creating the conversation of a pair idempotent whichever of the
 * two asks; a group has neither, nor a receiver. `last_seq` is the seq of the latest message; sending, and every
 * membership change (a system message), locks this row to take the next one.
 */
@Entity('conversations')
@Unique('conversations_pair_key', ['pairLow', 'pairHigh'])
@Index('conversations_request_id_key', ['requestId'], { unique: true, where: '"request_id" IS NOT NULL' })
@Check('conversations_type_check', TYPE_CHECK)
export class ConversationEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'conversations_pkey' })
  id: string;

  @Column({ name: 'sender_id', type: 'bigint' })
  senderId: string;

  @ManyToOne(() => UserEntity)
  @JoinColumn({ name: 'sender_id', foreignKeyConstraintName: 'conversations_sender_id_fkey' })
  sender?: UserEntity;

  @Column({ type: 'varchar', length: 8, default: 'direct' })
  type: 'direct' | 'group';

  /** 1–100 characters for a group; null for a direct conversation. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  title: string | null;

  /** The client's own JSON object (at most 2 KB, 3 levels), kept verbatim. */
  @Column({ type: 'jsonb', default: {} })
  metadata: object;

  @Column({ name: 'member_count', type: 'int', default: 2 })
  memberCount: number;

  /** The other user of a direct conversation; null for a group. */
  @Column({ name: 'receiver_id', type: 'bigint', nullable: true })
  receiverId: string | null;

  @ManyToOne(() => UserEntity)
  @JoinColumn({ name: 'receiver_id', foreignKeyConstraintName: 'conversations_receiver_id_fkey' })
  receiver?: UserEntity;

  @Column({ name: 'pair_low', type: 'bigint', nullable: true })
  pairLow: string | null;

  @Column({ name: 'pair_high', type: 'bigint', nullable: true })
  pairHigh: string | null;

  @Column({ name: 'last_seq', type: 'bigint', default: 0 })
  lastSeq: string;

  /** The latest message (no foreign key: messages reference conversations, and this is a cache of that). */
  @Column({ name: 'last_message_id', type: 'bigint', nullable: true })
  lastMessageId: string | null;

  /** Messages that count as unread (all but system ones) ever stored here; see ParticipantEntity.readTotal. */
  @Column({ name: 'unread_total', type: 'bigint', default: 0 })
  unreadTotal: string;

  /**
   * The change counter: each new message, edit, deletion, reaction change and system message takes the next one,
   * under this row's lock (as `seq`), so it has no gaps. A message keeps the version of its latest change.
   */
  @Column({ type: 'bigint', default: 0 })
  version: string;

  /** Moves to the next value of `conversation_activity_seq` on every message: see ParticipantEntity.activity. */
  @Column({ type: 'bigint', default: () => "nextval('conversation_activity_seq')" })
  activity: string;

  /** The RPC request that created a group: the same request handled twice creates one group. */
  @Column({ name: 'request_id', type: 'uuid', nullable: true })
  requestId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
