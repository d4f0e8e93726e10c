import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SEND_MESSAGES_WITH_REQUEST_IDS } from './1764600000000-sessions.js';

/**
 * Groups, membership history, system messages, unread totals, mutes and blocks. Nothing stored changes meaning:
 * every existing conversation becomes `type 'direct'` with its two members, ids, seqs and read marks.
 *
 * - `conversations`: `type`, `title`, `metadata`, `member_count`; `receiver_id` and the pair columns are null for
 *   groups (the pair key still makes direct conversations unique per pair: NULLs never collide). `activity` is the
 *   conversation's place in the lists of members of large groups (see ParticipantEntity.activity). A group keeps
 *   the RPC request id that created it (`request_id`, unique where set), so a request handled twice creates one.
 * - Unread counts stay O(1) without counting system messages: `unread_total` counts the messages that count as
 *   unread (all but system ones), each message keeps the total just after it, and each member keeps the total at
 *   their read mark (`read_total`); unread is the difference. Existing messages need no rewrite: their total is
 *   their seq (they are all countable), so `messages.unread_total` is left NULL for them and read as `seq`.
 * - `conversation_participants` gains `role`, `read_total`, the mute, and a nullable `activity`.
 * - `membership_events`: every add, removal, leave and role change, kept after a member leaves (audit, and the
 *   recent removals a send must not be broadcast to); existing members get their `added` event.
 * - `user_blocks`; `messages.system` (what a system message records) and the `system` message type.
 */
export class Groups1764700000000 implements MigrationInterface {
  name = 'Groups1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`ALTER TABLE "conversations" DROP CONSTRAINT "conversations_pair_check"`);
    await q(`ALTER TABLE "conversations" ADD "type" character varying(8) NOT NULL DEFAULT 'direct'`);
    await q(`ALTER TABLE "conversations" ADD "title" character varying(100)`);
    await q(`ALTER TABLE "conversations" ADD "metadata" jsonb NOT NULL DEFAULT '{}'`);
    await q(`ALTER TABLE "conversations" ADD "member_count" integer NOT NULL DEFAULT 2`);
    await q(`ALTER TABLE "conversations" ADD "unread_total" bigint NOT NULL DEFAULT '0'`);
    await q(`ALTER TABLE "conversations" ADD "activity" bigint`);
    await q(`ALTER TABLE "conversations" ADD "request_id" uuid`);
    await q(
      `CREATE UNIQUE INDEX "conversations_request_id_key" ON "conversations" ("request_id") WHERE "request_id" IS NOT NULL`,
    );
    await q(`UPDATE "conversations" c SET "unread_total" = c."last_seq",
               "activity" = coalesce((SELECT max(p."activity") FROM "conversation_participants" p
                                      WHERE p."conversation_id" = c."id"), nextval('conversation_activity_seq'))`);
    await q(
      `ALTER TABLE "conversations" ALTER COLUMN "activity" SET DEFAULT nextval('conversation_activity_seq')`,
    );
    await q(`ALTER TABLE "conversations" ALTER COLUMN "activity" SET NOT NULL`);
    await q(`ALTER TABLE "conversations" ALTER COLUMN "receiver_id" DROP NOT NULL`);
    await q(`ALTER TABLE "conversations" ALTER COLUMN "pair_low" DROP NOT NULL`);
    await q(`ALTER TABLE "conversations" ALTER COLUMN "pair_high" DROP NOT NULL`);
    await q(`ALTER TABLE "conversations" ADD CONSTRAINT "conversations_type_check" CHECK (${TYPE_CHECK})`);

    await q(
      `ALTER TABLE "conversation_participants" ADD "role" character varying(8) NOT NULL DEFAULT 'member'`,
    );
    await q(`ALTER TABLE "conversation_participants" ADD "read_total" bigint NOT NULL DEFAULT '0'`);
    await q(`ALTER TABLE "conversation_participants" ADD "muted" boolean NOT NULL DEFAULT false`);
    await q(`ALTER TABLE "conversation_participants" ADD "muted_until" TIMESTAMP WITH TIME ZONE`);
    await q(`UPDATE "conversation_participants" SET "read_total" = "last_read_seq"`);
    await q(`ALTER TABLE "conversation_participants" ALTER COLUMN "activity" DROP NOT NULL`);
    await q(
      `ALTER TABLE "conversation_participants" ADD CONSTRAINT "conversation_participants_role_check" CHECK ("role" IN ('owner', 'admin', 'member'))`,
    );

    await q(`ALTER TABLE "messages" DROP CONSTRAINT "messages_message_type_check"`);
    await q(
      `ALTER TABLE "messages" ADD CONSTRAINT "messages_message_type_check" CHECK ("message_type" IN ('text', 'image', 'file', 'system'))`,
    );
    await q(`ALTER TABLE "messages" ADD "unread_total" bigint`);
    await q(`ALTER TABLE "messages" ADD "system" jsonb`);

    await q(
      `CREATE TABLE "membership_events" ("id" BIGSERIAL NOT NULL, "conversation_id" bigint NOT NULL, "user_id" bigint NOT NULL, "actor_id" bigint, "action" character varying(16) NOT NULL, "role" character varying(8), "seq" bigint, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "membership_events_action_check" CHECK ("action" IN ('added', 'removed', 'left', 'role_changed')), CONSTRAINT "membership_events_pkey" PRIMARY KEY ("id"))`,
    );
    await q(
      `CREATE INDEX "membership_events_conversation_idx" ON "membership_events" ("conversation_id", "created_at") `,
    );
    await q(`CREATE INDEX "membership_events_user_idx" ON "membership_events" ("user_id") `);
    await q(
      `ALTER TABLE "membership_events" ADD CONSTRAINT "membership_events_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q(
      `ALTER TABLE "membership_events" ADD CONSTRAINT "membership_events_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q(`INSERT INTO "membership_events" ("conversation_id", "user_id", "action", "role", "created_at")
             SELECT "conversation_id", "user_id", 'added', "role", "joined_at" FROM "conversation_participants"
             ORDER BY "joined_at", "conversation_id", "user_id"`);

    await q(
      `CREATE TABLE "user_blocks" ("blocker_id" bigint NOT NULL, "blocked_id" bigint NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "user_blocks_pkey" PRIMARY KEY ("blocker_id", "blocked_id"))`,
    );
    await q(`CREATE INDEX "user_blocks_blocked_idx" ON "user_blocks" ("blocked_id") `);
    await q(
      `ALTER TABLE "user_blocks" ADD CONSTRAINT "user_blocks_blocker_id_fkey" FOREIGN KEY ("blocker_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q(
      `ALTER TABLE "user_blocks" ADD CONSTRAINT "user_blocks_blocked_id_fkey" FOREIGN KEY ("blocked_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );

    await q(`DROP FUNCTION parley_send_messages(jsonb)`);
    await q(SEND_MESSAGES_TO_MEMBERS);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`DROP FUNCTION parley_send_messages(jsonb, integer)`);
    await q(SEND_MESSAGES_WITH_REQUEST_IDS);
    await q(`DROP TABLE "user_blocks"`);
    await q(`DROP TABLE "membership_events"`);
    // Groups and system messages have no place in the old schema.
    await q(`DELETE FROM "conversations" WHERE "type" <> 'direct'`);
    await q(`DELETE FROM "messages" WHERE "message_type" = 'system'`);
    await q(`ALTER TABLE "messages" DROP COLUMN "system"`);
    await q(`ALTER TABLE "messages" DROP COLUMN "unread_total"`);
    await q(`ALTER TABLE "messages" DROP CONSTRAINT "messages_message_type_check"`);
    await q(
      `ALTER TABLE "messages" ADD CONSTRAINT "messages_message_type_check" CHECK ("message_type" IN ('text', 'image', 'file'))`,
    );
    await q(`ALTER TABLE "conversation_participants" DROP CONSTRAINT "conversation_participants_role_check"`);
    await q(`UPDATE "conversation_participants" p SET "activity" = c."activity" FROM "conversations" c
             WHERE c."id" = p."conversation_id" AND p."activity" IS NULL`);
    await q(`ALTER TABLE "conversation_participants" ALTER COLUMN "activity" SET NOT NULL`);
    await q(`ALTER TABLE "conversation_participants" DROP COLUMN "muted_until"`);
    await q(`ALTER TABLE "conversation_participants" DROP COLUMN "muted"`);
    await q(`ALTER TABLE "conversation_participants" DROP COLUMN "read_total"`);
    await q(`ALTER TABLE "conversation_participants" DROP COLUMN "role"`);
    await q(`ALTER TABLE "conversations" DROP CONSTRAINT "conversations_type_check"`);
    await q(`ALTER TABLE "conversations" ALTER COLUMN "pair_high" SET NOT NULL`);
    await q(`ALTER TABLE "conversations" ALTER COLUMN "pair_low" SET NOT NULL`);
    await q(`ALTER TABLE "conversations" ALTER COLUMN "receiver_id" SET NOT NULL`);
    await q(`DROP INDEX "conversations_request_id_key"`);
    for (const column of [
      'request_id',
      'activity',
      'unread_total',
      'member_count',
      'metadata',
      'title',
      'type',
    ]) {
      await q(`ALTER TABLE "conversations" DROP COLUMN "${column}"`);
    }
    await q(
      `ALTER TABLE "conversations" ADD CONSTRAINT "conversations_pair_check" CHECK ("pair_low" < "pair_high")`,
    );
  }
}

/** A direct conversation has its pair (and a receiver); a group has a title and neither. */
export const TYPE_CHECK = `("type" = 'direct' AND "receiver_id" IS NOT NULL AND "pair_low" < "pair_high" AND "title" IS NULL) OR ("type" = 'group' AND "receiver_id" IS NULL AND "pair_low" IS NULL AND "pair_high" IS NULL AND "title" IS NOT NULL)`;

/**
 * `parley_send_messages(items, fanout_max)`: migration 3's batch send, for groups. Per item, in conversation id
 * order (so concurrent batches lock conversations in the same order and cannot deadlock):
 * - lock the conversation; refuse a non-member (`not_participant`) and, in a direct conversation where either
 *   user blocked the other, refuse (`blocked`);
 * - insert with the next seq and unread total (nothing, and no seq used, for a repeated client_message_id or
 *   request id: `duplicate`); move `last_seq`, `unread_total`, `activity`;
 * - the sender's read mark moves to the message. In a direct conversation or a group of at most `fanout_max`
 *   members every member's list position moves too; larger groups move only the conversation (their members'
 *   lists read it from there). A direct conversation returns both users' views in `members` for their
 *   `conversation-updated`; a group returns NULL (the gateway coalesces groups' updates);
 * - `excluded`: users who left or were removed in the last minute (and are not members again): the broadcast
 *   skips their sockets, which may not have left the room yet on every gateway.
 */
export const SEND_MESSAGES_TO_MEMBERS = `
CREATE FUNCTION parley_send_messages(items jsonb, fanout_max integer)
RETURNS TABLE (
  idx int, status text, id bigint, seq bigint, created_at timestamptz,
  conv_sender_id bigint, conv_receiver_id bigint, conv_created_at timestamptz, conv_type text,
  conv_title text, conv_metadata jsonb, conv_member_count int, members jsonb, excluded bigint[]
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
    idx := item.i; id := NULL; seq := NULL; created_at := NULL; members := NULL; excluded := NULL;
    conv_sender_id := NULL; conv_receiver_id := NULL; conv_created_at := NULL; conv_type := NULL;
    conv_title := NULL; conv_metadata := NULL; conv_member_count := NULL;
    SELECT c.* INTO conv FROM conversations c WHERE c.id = item.c FOR UPDATE;
    IF NOT FOUND THEN
      status := 'not_found'; RETURN NEXT; CONTINUE;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM conversation_participants p WHERE p.conversation_id = item.c AND p.user_id = item.s) THEN
      status := 'not_participant'; RETURN NEXT; CONTINUE;
    END IF;
    IF conv.type = 'direct' AND EXISTS (
      SELECT 1 FROM user_blocks b
      WHERE (b.blocker_id = conv.pair_low AND b.blocked_id = conv.pair_high)
         OR (b.blocker_id = conv.pair_high AND b.blocked_id = conv.pair_low)
    ) THEN
      status := 'blocked'; RETURN NEXT; CONTINUE;
    END IF;
    IF item.r IS NOT NULL AND EXISTS (SELECT 1 FROM messages m WHERE m.request_id = item.r) THEN
      status := 'duplicate'; RETURN NEXT; CONTINUE;
    END IF;
    INSERT INTO messages AS m
      (conversation_id, seq, sender_id, message_type, content, client_message_id, request_id, unread_total)
    VALUES (item.c, conv.last_seq + 1, item.s, item.t, item.x, item.k, item.r, conv.unread_total + 1)
    ON CONFLICT (sender_id, client_message_id) DO NOTHING
    RETURNING m.id, m.seq, m.created_at INTO new_id, new_seq, new_created;
    IF NOT FOUND THEN
      status := 'duplicate'; RETURN NEXT; CONTINUE;
    END IF;
    UPDATE conversations c
    SET last_seq = new_seq, last_message_id = new_id, unread_total = conv.unread_total + 1,
        activity = nextval('conversation_activity_seq')
    WHERE c.id = item.c;
    IF conv.type = 'direct' THEN
      WITH moved AS (
        UPDATE conversation_participants p
        SET activity = nextval('conversation_activity_seq'),
            last_read_seq = CASE WHEN p.user_id = item.s THEN new_seq ELSE p.last_read_seq END,
            read_total = CASE WHEN p.user_id = item.s THEN conv.unread_total + 1 ELSE p.read_total END
        WHERE p.conversation_id = item.c
        RETURNING p.user_id, p.read_total, p.role, p.muted, p.muted_until
      )
      SELECT jsonb_agg(jsonb_build_object(
               'user_id', moved.user_id, 'unread', conv.unread_total + 1 - moved.read_total, 'role', moved.role,
               'muted', moved.muted AND (moved.muted_until IS NULL OR moved.muted_until > now()),
               'muted_until', CASE WHEN moved.muted AND moved.muted_until > now() THEN moved.muted_until END))
      INTO members FROM moved;
    ELSE
      UPDATE conversation_participants p
      SET activity = CASE WHEN conv.member_count <= fanout_max THEN nextval('conversation_activity_seq') END,
          last_read_seq = CASE WHEN p.user_id = item.s THEN new_seq ELSE p.last_read_seq END,
          read_total = CASE WHEN p.user_id = item.s THEN conv.unread_total + 1 ELSE p.read_total END
      WHERE p.conversation_id = item.c AND (conv.member_count <= fanout_max OR p.user_id = item.s);
    END IF;
    IF conv.type = 'group' THEN
      excluded := ARRAY(
        SELECT DISTINCT e.user_id FROM membership_events e
        WHERE e.conversation_id = item.c AND e.action IN ('removed', 'left')
          AND e.created_at > now() - interval '1 minute'
          AND NOT EXISTS (SELECT 1 FROM conversation_participants p
                          WHERE p.conversation_id = item.c AND p.user_id = e.user_id));
    END IF;
    status := 'stored'; id := new_id; seq := new_seq; created_at := new_created;
    conv_sender_id := conv.sender_id; conv_receiver_id := conv.receiver_id; conv_created_at := conv.created_at;
    conv_type := conv.type; conv_title := conv.title; conv_metadata := conv.metadata;
    conv_member_count := conv.member_count;
    RETURN NEXT;
  END LOOP;
END
$$`;
