import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the other seeds' clients need of users (docs/compat.md); nothing existing is rewritten:
 *
 * - `users.email` (optional): seed 004's clients log in with it; unique without case through `email_key`
 *   (`lower(email)`; NULLs do not collide).
 * - `users.role` (optional): seed 001's STUDENT, TEACHER or TRAINER.
 * - `mentor_assignments`: seed 001's student → the mentor (a TEACHER or TRAINER) assigned to them, one each.
 */
export class UserProfiles1764900000000 implements MigrationInterface {
  name = 'UserProfiles1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`ALTER TABLE "users" ADD "email" character varying(254)`);
    await q(`ALTER TABLE "users" ADD "email_key" character varying(254)`);
    await q(`ALTER TABLE "users" ADD CONSTRAINT "users_email_key_key" UNIQUE ("email_key")`);
    await q(`ALTER TABLE "users" ADD "role" character varying(16)`);
    await q(
      `CREATE TABLE "mentor_assignments" ("student_id" bigint NOT NULL, "mentor_id" bigint NOT NULL, "assigned_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "mentor_assignments_pkey" PRIMARY KEY ("student_id"))`,
    );
    await q(`CREATE INDEX "mentor_assignments_mentor_idx" ON "mentor_assignments" ("mentor_id") `);
    await q(
      `ALTER TABLE "mentor_assignments" ADD CONSTRAINT "mentor_assignments_student_id_fkey" FOREIGN KEY ("student_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q(
      `ALTER TABLE "mentor_assignments" ADD CONSTRAINT "mentor_assignments_mentor_id_fkey" FOREIGN KEY ("mentor_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`DROP TABLE "mentor_assignments"`);
    await q(`ALTER TABLE "users" DROP COLUMN "role"`);
    await q(`ALTER TABLE "users" DROP CONSTRAINT "users_email_key_key"`);
    await q(`ALTER TABLE "users" DROP COLUMN "email_key"`);
    await q(`ALTER TABLE "users" DROP COLUMN "email"`);
  }
}
