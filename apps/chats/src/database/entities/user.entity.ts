import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

@Entity('users')
@Unique('users_username_key_key', ['usernameKey'])
@Unique('users_email_key_key', ['emailKey'])
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

  /** Optional; seed 004's clients log in with it. */
  @Column({ type: 'varchar', length: 254, nullable: true })
  email: string | null;

  /** `lower(email)`: an address is registered once regardless of case. */
  @Column({ name: 'email_key', type: 'varchar', length: 254, nullable: true })
  emailKey: string | null;

  /** Seed 001's STUDENT, TEACHER or TRAINER; none by default. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  role: string | null;

  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
