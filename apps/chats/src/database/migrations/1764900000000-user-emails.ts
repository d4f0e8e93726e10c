import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Users gain an optional e-mail address (seed 004's clients log in with it), unique without case through
 * `email_key` (`lower(email)`; NULLs do not collide). Existing users have none; nothing is rewritten.
 */
export class UserEmails1764900000000 implements MigrationInterface {
  name = 'UserEmails1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD "email" character varying(254)`);
    await queryRunner.query(`ALTER TABLE "users" ADD "email_key" character varying(254)`);
    await queryRunner.query(`ALTER TABLE "users" ADD CONSTRAINT "users_email_key_key" UNIQUE ("email_key")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP CONSTRAINT "users_email_key_key"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "email_key"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "email"`);
  }
}
