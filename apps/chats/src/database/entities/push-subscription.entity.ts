import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { UserEntity } from './user.entity.js';

/**
 * A device's Web Push subscription (the browser's PushSubscription): where to POST (`endpoint`, unique: one
 * device, one owner) and the keys its notifications are encrypted with (RFC 8291). Removed when the push service
 * answers 404 or 410 (the subscription expired or was revoked), or when the user unregisters the device.
 */
@Entity('push_subscriptions')
@Index('push_subscriptions_endpoint_key', ['endpoint'], { unique: true })
@Index('push_subscriptions_user_idx', ['userId'])
export class PushSubscriptionEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'push_subscriptions_pkey' })
  id: string;

  @Column({ name: 'user_id', type: 'bigint' })
  userId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'push_subscriptions_user_id_fkey' })
  user?: UserEntity;

  @Column({ type: 'varchar', length: 2048 })
  endpoint: string;

  @Column({ type: 'varchar', length: 88 })
  p256dh: string;

  @Column({ type: 'varchar', length: 24 })
  auth: string;

  /** The browser's expirationTime, when it gave one: no notification is sent after it. */
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 256, nullable: true })
  userAgent: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
