// The seed's three entities. Column types are spelled out: the processes run under tsx (esbuild), which emits no
// decorator metadata for TypeORM to infer them from.
import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';

export enum MessageType {
  TEXT = 'text',
  IMAGE = 'image',
  FILE = 'file',
}

@Entity('users')
export class User {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'varchar', length: 100, unique: true })
  username: string;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}

@Entity('conversations')
export class Conversation {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'int' })
  sender_id: number;

  @Column({ type: 'int' })
  receiver_id: number;

  @ManyToOne(() => User)
  @JoinColumn({ name: 'sender_id' })
  sender?: User;

  @ManyToOne(() => User)
  @JoinColumn({ name: 'receiver_id' })
  receiver?: User;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}

@Entity('messages')
export class Message {
  @PrimaryGeneratedColumn({ type: 'int' })
  id: number;

  @Column({ type: 'int' })
  sender_id: number;

  @Column({ type: 'int' })
  conversation_id: number;

  @ManyToOne(() => User)
  @JoinColumn({ name: 'sender_id' })
  sender?: User;

  @ManyToOne(() => Conversation)
  @JoinColumn({ name: 'conversation_id' })
  conversation?: Conversation;

  @Column({ type: 'enum', enum: MessageType, default: MessageType.TEXT })
  message_type: MessageType;

  @Column({ type: 'text' })
  content: string;

  @CreateDateColumn({ type: 'timestamptz' })
  timestamp: Date;
}

export const entities = [User, Conversation, Message];
