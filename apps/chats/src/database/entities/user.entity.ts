import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

@Entity('users')
@Unique('users_username_key_key', ['usernameKey'])
export class UserEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'users_pkey' })
  id: string;

  @Column({ type: 'varchar', length: 32 })
  username: string;

  /** `lower(username)`: usernames are unique regardless of case. */
  @Column({ name: 'username_key', type: 'varchar', length: 32 })
  usernameKey: string;

  @Column({ name: 'display_name', type: 'varchar', length: 64 })
  displayName: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
