import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Web Push (docs/integrations.md, "Web Push"): `push_subscriptions`, one row per device that asked for notifications. `endpoint` is
 * unique (a device registering again, under this or another account, takes its row over); rows go with their user.
 */
export class PushSubscriptions1765100000000 implements MigrationInterface {
  name = 'PushSubscriptions1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(
      `CREATE TABLE "push_subscriptions" ("id" BIGSERIAL NOT NULL, "user_id" bigint NOT NULL, "endpoint" character varying(2048) NOT NULL, "p256dh" character varying(88) NOT NULL, "auth" character varying(24) NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE, "user_agent" character varying(256), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "push_subscriptions_pkey" PRIMARY KEY ("id"))`,
    );
    await q(`CREATE UNIQUE INDEX "push_subscriptions_endpoint_key" ON "push_subscriptions" ("endpoint") `);
    await q(`CREATE INDEX "push_subscriptions_user_idx" ON "push_subscriptions" ("user_id") `);
    await q(
      `ALTER TABLE "push_subscriptions" ADD CONSTRAINT "push_subscriptions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "push_subscriptions"`);
  }
}
