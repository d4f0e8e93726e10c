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
 * A message. `(conversation_id, seq)` is unique and serves every history query as an index range scan at any
 * depth; `(sender_id, client_message_id)` is unique and makes sends idempotent. A send without a
 * client_message_id keeps its RPC request id instead (`request_id`, unique where set), so that a request handled
 * twice (its first consumer died after the commit) stores one message. `(conversation_id, coalesce(version, seq))`
 * serves the catch-up by version (an expression index, which entities cannot describe: `synchronize: false`).
 */
@Entity('messages')
@Index('messages_version_idx', { synchronize: false })
@Index('messages_conversation_seq_key', ['conversationId', 'seq'], { unique: true })
@Index('messages_sender_client_message_id_key', ['senderId', 'clientMessageId'], { unique: true })
@Index('messages_request_id_key', ['requestId'], { unique: true, where: '"request_id" IS NOT NULL' })
@Check('messages_message_type_check', `"message_type" IN ('text', 'image', 'file', 'system')`)
export class MessageEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'messages_pkey' })
  id: string;

  @Column({ name: 'conversation_id', type: 'bigint' })
  conversationId: string;

  @ManyToOne(() => ConversationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'messages_conversation_id_fkey' })
  conversation?: ConversationEntity;

  @Column({ type: 'bigint' })
  seq: string;

  @Column({ name: 'sender_id', type: 'bigint' })
  senderId: string;

  @ManyToOne(() => UserEntity)
  @JoinColumn({ name: 'sender_id', foreignKeyConstraintName: 'messages_sender_id_fkey' })
  sender?: UserEntity;

  @Column({ name: 'message_type', type: 'varchar', length: 8 })
  messageType: string;

  @Column({ type: 'text' })
  content: string;

  @Column({ name: 'client_message_id', type: 'varchar', length: 64, nullable: true })
  clientMessageId: string | null;

  @Column({ name: 'request_id', type: 'uuid', nullable: true })
  requestId: string | null;

  /** The conversation's unread_total just after this message; NULL (read as `seq`) for messages before groups. */
  @Column({ name: 'unread_total', type: 'bigint', nullable: true })
  unreadTotal: string | null;

  /** What a system message records: `{action, actor_id, user_ids}`; null for every other message. */
  @Column({ type: 'jsonb', nullable: true })
  system: object | null;

  /** The conversation's version of this message's latest change; NULL (read as `seq`) for messages before it. */
  @Column({ type: 'bigint', nullable: true })
  version: string | null;

  @Column({ name: 'edited_at', type: 'timestamptz', nullable: true })
  editedAt: Date | null;

  /** Set on a tombstone: content empty, attachments, metadata and reactions gone. */
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt: Date | null;

  /** The message of the same conversation this one replies to. */
  @Column({ name: 'reply_to_id', type: 'bigint', nullable: true })
  replyToId: string | null;

  @ManyToOne(() => MessageEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'reply_to_id', foreignKeyConstraintName: 'messages_reply_to_id_fkey' })
  replyTo?: MessageEntity;

  /** `[{type, url, name?, mime_type?, size?, width?, height?}]`; NULL: none. */
  @Column({ type: 'jsonb', nullable: true })
  attachments: object[] | null;

  /** The client's own JSON object; NULL: none. */
  @Column({ type: 'jsonb', nullable: true })
  metadata: object | null;

  /** Users per emoji (`{"👍": 2}`), kept with `message_reactions` under the conversation's lock; NULL: none. */
  @Column({ type: 'jsonb', nullable: true })
  reactions: Record<string, number> | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
