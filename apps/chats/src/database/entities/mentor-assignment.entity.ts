import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { UserEntity } from './user.entity.js';

/** Seed 001: the mentor (a TEACHER or TRAINER) assigned to a student; one per student. */
@Entity('mentor_assignments')
@Index('mentor_assignments_mentor_idx', ['mentorId'])
export class MentorAssignmentEntity {
  @PrimaryColumn({ name: 'student_id', type: 'bigint', primaryKeyConstraintName: 'mentor_assignments_pkey' })
  studentId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'student_id', foreignKeyConstraintName: 'mentor_assignments_student_id_fkey' })
  student?: UserEntity;

  @Column({ name: 'mentor_id', type: 'bigint' })
  mentorId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mentor_id', foreignKeyConstraintName: 'mentor_assignments_mentor_id_fkey' })
  mentor?: UserEntity;

  @CreateDateColumn({ name: 'assigned_at', type: 'timestamptz' })
  assignedAt: Date;
}
