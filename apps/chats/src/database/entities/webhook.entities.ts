import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';

/**
 * The webhooks' tables (see the migration Webhooks1765000000000 for the triggers that fill the outbox). Events and
 * their deliveries are written in the transaction of the change they describe; a delivery is deleted once its
 * endpoint answered 2xx, or moved to webhook_dead_letters when its retries ran out.
 */
@Entity('webhook_endpoints')
export class WebhookEndpointEntity {
  @PrimaryGeneratedColumn({ type: 'int', primaryKeyConstraintName: 'webhook_endpoints_pkey' })
  id: number;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  /** `whsec_` and the base64 of the HMAC key (Standard Webhooks' format). */
  @Column({ type: 'varchar', length: 100 })
  secret: string;

  @Column({ type: 'varchar', length: 32, array: true })
  events: string[];

  @Column({ type: 'varchar', length: 200, nullable: true })
  description: string | null;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @CreateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

@Entity('webhook_events')
@Unique('webhook_events_event_id_key', ['eventId'])
@Index('webhook_events_created_idx', ['createdAt'])
export class WebhookEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'webhook_events_pkey' })
  id: string;

  /** The id receivers deduplicate by: the same on every attempt. */
  @Column({ name: 'event_id', type: 'uuid' })
  eventId: string;

  @Column({ type: 'varchar', length: 32 })
  type: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'jsonb' })
  data: unknown;
}

@Entity('webhook_deliveries')
@Index('webhook_deliveries_due_idx', ['endpointId', 'nextAttemptAt'])
@Index('webhook_deliveries_event_idx', ['eventId'])
export class WebhookDeliveryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'webhook_deliveries_pkey' })
  id: string;

  @Column({ name: 'event_id', type: 'bigint' })
  eventId: string;

  @ManyToOne(() => WebhookEventEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'event_id', foreignKeyConstraintName: 'webhook_deliveries_event_id_fkey' })
  event?: WebhookEventEntity;

  @Column({ name: 'endpoint_id', type: 'int' })
  endpointId: number;

  @ManyToOne(() => WebhookEndpointEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'endpoint_id', foreignKeyConstraintName: 'webhook_deliveries_endpoint_id_fkey' })
  endpoint?: WebhookEndpointEntity;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  /** When it is due; while an attempt runs, the end of its lease (a worker that died lets it come due again). */
  @CreateDateColumn({ name: 'next_attempt_at', type: 'timestamptz' })
  nextAttemptAt: Date;

  @Column({ name: 'last_error', type: 'varchar', length: 300, nullable: true })
  lastError: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

@Entity('webhook_dead_letters')
@Index('webhook_dead_letters_endpoint_idx', ['endpointId', 'id'])
@Index('webhook_dead_letters_event_idx', ['eventId'])
export class WebhookDeadLetterEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'webhook_dead_letters_pkey' })
  id: string;

  @Column({ name: 'event_id', type: 'bigint' })
  eventId: string;

  @ManyToOne(() => WebhookEventEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'event_id', foreignKeyConstraintName: 'webhook_dead_letters_event_id_fkey' })
  event?: WebhookEventEntity;

  @Column({ name: 'endpoint_id', type: 'int' })
  endpointId: number;

  @ManyToOne(() => WebhookEndpointEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'endpoint_id', foreignKeyConstraintName: 'webhook_dead_letters_endpoint_id_fkey' })
  endpoint?: WebhookEndpointEntity;

  @Column({ type: 'int' })
  attempts: number;

  @Column({ name: 'last_error', type: 'varchar', length: 300, nullable: true })
  lastError: string | null;

  /** When the event's delivery to this endpoint was first due. */
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @CreateDateColumn({ name: 'dead_at', type: 'timestamptz' })
  deadAt: Date;
}
