import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SendMessagesFunction1763740000000 } from './1763740000000-send-messages-function.js';

/**
 * Sessions replace refresh-token rows, and sends without a client_message_id become safe to handle twice.
 *
 * - `sessions`: one row per login (see SessionEntity). Each refresh-token family becomes a session with the same
 *   id and its newest token as the current one, so refresh tokens issued before this migration keep working; a
 *   family whose newest token was used, revoked or expired becomes an ended session. Used tokens are not copied:
 *   replaying one from before the migration is refused without ending its session.
 * - `messages.request_id`, unique where set, and `parley_send_messages` storing it for items without a
 *   client_message_id (`r`): a request id seen before is a `duplicate`, as a repeated client_message_id is.
 */
export class Sessions1764600000000 implements MigrationInterface {
  name = 'Sessions1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "sessions" ("id" uuid NOT NULL, "user_id" bigint NOT NULL, "current_jti" uuid NOT NULL, "previous_jti" uuid, "rotated_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "ended_at" TIMESTAMP WITH TIME ZONE, "end_reason" character varying(16), CONSTRAINT "sessions_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "sessions_current_jti_key" ON "sessions" ("current_jti") `);
    await queryRunner.query(
      `CREATE INDEX "sessions_user_live_idx" ON "sessions" ("user_id") WHERE "ended_at" IS NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "sessions_ended_at_idx" ON "sessions" ("ended_at") WHERE "ended_at" IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX "sessions_expires_at_idx" ON "sessions" ("expires_at") `);
    await queryRunner.query(
      `ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`
      INSERT INTO sessions (id, user_id, current_jti, created_at, expires_at, ended_at, end_reason)
      SELECT newest.family_id, newest.user_id, newest.id, first.created_at, newest.expires_at,
             CASE WHEN newest.used_at IS NULL AND newest.revoked_at IS NULL AND newest.expires_at > now() THEN NULL
                  ELSE least(now(), coalesce(newest.revoked_at, newest.used_at, newest.expires_at)) END,
             CASE WHEN newest.used_at IS NULL AND newest.revoked_at IS NULL AND newest.expires_at > now() THEN NULL
                  ELSE 'migrated' END
      FROM (SELECT DISTINCT ON (family_id) * FROM refresh_tokens ORDER BY family_id, created_at DESC, id) newest
      JOIN (SELECT family_id, min(created_at) AS created_at FROM refresh_tokens GROUP BY family_id) first
        ON first.family_id = newest.family_id`);
    await queryRunner.query(`DROP TABLE "refresh_tokens"`);

    await queryRunner.query(`ALTER TABLE "messages" ADD "request_id" uuid`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "messages_request_id_key" ON "messages" ("request_id") WHERE "request_id" IS NOT NULL`,
    );
    await queryRunner.query(SEND_MESSAGES_WITH_REQUEST_IDS);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION parley_send_messages(jsonb)`);
    await new SendMessagesFunction1763740000000().up(queryRunner);
    await queryRunner.query(`DROP INDEX "messages_request_id_key"`);
    await queryRunner.query(`ALTER TABLE "messages" DROP COLUMN "request_id"`);
    await queryRunner.query(
      `CREATE TABLE "refresh_tokens" ("id" uuid NOT NULL, "user_id" bigint NOT NULL, "family_id" uuid NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "used_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "refresh_tokens_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "refresh_tokens_user_idx" ON "refresh_tokens"  ("user_id") `);
    await queryRunner.query(`CREATE INDEX "refresh_tokens_family_idx" ON "refresh_tokens"  ("family_id") `);
    await queryRunner.query(
      `ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`
      INSERT INTO refresh_tokens (id, user_id, family_id, expires_at, revoked_at, created_at)
      SELECT current_jti, user_id, id, expires_at, ended_at, created_at FROM sessions`);
    await queryRunner.query(`DROP TABLE "sessions"`);
  }
}

/** parley_send_messages of migration 2, plus the request id of items without a client_message_id. */
export const SEND_MESSAGES_WITH_REQUEST_IDS = `
CREATE OR REPLACE FUNCTION parley_send_messages(items jsonb)
RETURNS TABLE (
  idx int, status text, id bigint, seq bigint, created_at timestamptz,
  conv_sender_id bigint, conv_receiver_id bigint, conv_created_at timestamptz, participants jsonb
)
LANGUAGE plpgsql AS $$
DECLARE
  item record;
  conv record;
  new_id bigint;
  new_seq bigint;
  new_created timestamptz;
BEGIN
  FOR item IN
    SELECT (e.value->>'i')::int AS i, (e.value->>'c')::bigint AS c, (e.value->>'s')::bigint AS s,
           e.value->>'t' AS t, e.value->>'x' AS x, e.value->>'k' AS k,
           CASE WHEN e.value->>'k' IS NULL THEN (e.value->>'r')::uuid END AS r
    FROM jsonb_array_elements(items) WITH ORDINALITY AS e(value, ord)
    ORDER BY (e.value->>'c')::bigint, e.ord
  LOOP
    idx := item.i; id := NULL; seq := NULL; created_at := NULL; participants := NULL;
    conv_sender_id := NULL; conv_receiver_id := NULL; conv_created_at := NULL;
    SELECT c.id, c.last_seq, c.sender_id, c.receiver_id, c.created_at INTO conv
    FROM conversations c WHERE c.id = item.c FOR UPDATE;
    IF NOT FOUND THEN
      status := 'not_found'; RETURN NEXT; CONTINUE;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM conversation_participants p WHERE p.conversation_id = item.c AND p.user_id = item.s) THEN
      status := 'not_participant'; RETURN NEXT; CONTINUE;
    END IF;
    IF item.r IS NOT NULL AND EXISTS (SELECT 1 FROM messages m WHERE m.request_id = item.r) THEN
      status := 'duplicate'; RETURN NEXT; CONTINUE;
    END IF;
    INSERT INTO messages AS m (conversation_id, seq, sender_id, message_type, content, client_message_id, request_id)
    VALUES (item.c, conv.last_seq + 1, item.s, item.t, item.x, item.k, item.r)
    ON CONFLICT (sender_id, client_message_id) DO NOTHING
    RETURNING m.id, m.seq, m.created_at INTO new_id, new_seq, new_created;
    IF NOT FOUND THEN
      status := 'duplicate'; RETURN NEXT; CONTINUE;
    END IF;
    UPDATE conversations c SET last_seq = new_seq, last_message_id = new_id WHERE c.id = item.c;
    WITH moved AS (
      UPDATE conversation_participants p
      SET activity = nextval('conversation_activity_seq'),
          last_read_seq = CASE WHEN p.user_id = item.s THEN new_seq ELSE p.last_read_seq END
      WHERE p.conversation_id = item.c
      RETURNING p.user_id, p.last_read_seq
    )
    SELECT jsonb_agg(jsonb_build_object('user_id', moved.user_id, 'last_read_seq', moved.last_read_seq)) INTO participants FROM moved;
    status := 'stored'; id := new_id; seq := new_seq; created_at := new_created;
    conv_sender_id := conv.sender_id; conv_receiver_id := conv.receiver_id; conv_created_at := conv.created_at;
    RETURN NEXT;
  END LOOP;
END
$$`;
