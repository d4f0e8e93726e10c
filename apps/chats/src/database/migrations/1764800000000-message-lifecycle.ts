import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SEND_MESSAGES_TO_MEMBERS } from './1764700000000-groups.js';

/**
 * The message lifecycle: every conversation counts its changes (`version`), and messages can be edited, deleted
 * (a tombstone), reacted to, reply to another, and carry attachments and metadata. Nothing stored changes meaning
 * and `messages` is not rewritten:
 *
 * - `conversations.version`: each new message, edit, deletion, reaction change and system message takes the next
 *   one, under the conversation's row lock like `seq`. Until now only messages changed it, one per message, so an
 *   existing conversation's version is its `last_seq`, and an existing message's version is its `seq`: it is left
 *   NULL and read as `seq` (`coalesce(version, seq)`), and the catch-up index is on that expression.
 * - `messages` gains `version`, `edited_at`, `deleted_at`, `reply_to_id`, `attachments` and `metadata` (NULL: none)
 *   and `reactions`, the count per emoji (`{"👍": 2}`; NULL: none), kept exact under the conversation's lock.
 * - `message_reactions`: who reacted with what, once per user and emoji; its key serves "my reactions" of a page.
 */
export class MessageLifecycle1764800000000 implements MigrationInterface {
  name = 'MessageLifecycle1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`ALTER TABLE "conversations" ADD "version" bigint NOT NULL DEFAULT '0'`);
    await q(`UPDATE "conversations" SET "version" = "last_seq"`);
    await q(`ALTER TABLE "messages" ADD "version" bigint`);
    await q(`ALTER TABLE "messages" ADD "edited_at" TIMESTAMP WITH TIME ZONE`);
    await q(`ALTER TABLE "messages" ADD "deleted_at" TIMESTAMP WITH TIME ZONE`);
    await q(`ALTER TABLE "messages" ADD "reply_to_id" bigint`);
    await q(`ALTER TABLE "messages" ADD "attachments" jsonb`);
    await q(`ALTER TABLE "messages" ADD "metadata" jsonb`);
    await q(`ALTER TABLE "messages" ADD "reactions" jsonb`);
    await q(
      `ALTER TABLE "messages" ADD CONSTRAINT "messages_reply_to_id_fkey" FOREIGN KEY ("reply_to_id") REFERENCES "messages"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await q(
      `CREATE INDEX "messages_version_idx" ON "messages" ("conversation_id", (coalesce("version", "seq")))`,
    );
    await q(
      `CREATE TABLE "message_reactions" ("message_id" bigint NOT NULL, "user_id" bigint NOT NULL, "emoji" character varying(32) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "message_reactions_pkey" PRIMARY KEY ("message_id", "user_id", "emoji"))`,
    );
    await q(
      `ALTER TABLE "message_reactions" ADD CONSTRAINT "message_reactions_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q(
      `ALTER TABLE "message_reactions" ADD CONSTRAINT "message_reactions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q(`DROP FUNCTION parley_send_messages(jsonb, integer)`);
    await q(SEND_MESSAGES_VERSIONED);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`DROP FUNCTION parley_send_messages(jsonb, integer)`);
    await q(SEND_MESSAGES_TO_MEMBERS);
    await q(`DROP TABLE "message_reactions"`);
    await q(`DROP INDEX "messages_version_idx"`);
    await q(`ALTER TABLE "messages" DROP CONSTRAINT "messages_reply_to_id_fkey"`);
    for (const column of [
      'reactions',
      'metadata',
      'attachments',
      'reply_to_id',
      'deleted_at',
      'edited_at',
      'version',
    ]) {
      await q(`ALTER TABLE "messages" DROP COLUMN "${column}"`);
    }
    await q(`ALTER TABLE "conversations" DROP COLUMN "version"`);
  }
}

/**
 * `parley_send_messages(items, fanout_max)`: migration 4's batch send, with versions, replies, attachments and
 * metadata. Each stored message takes the conversation's next `seq` and next `version`; a `reply_to_id` that is
 * not a message of the same conversation is refused (`bad_reply`, nothing stored, no seq or version used). The
 * stored attachments and metadata are returned as Postgres keeps them, so the first answer and a repeat's match.
 * Everything else is as in migration 4 (see SEND_MESSAGES_TO_MEMBERS there).
 */
export const SEND_MESSAGES_VERSIONED = `
CREATE FUNCTION parley_send_messages(items jsonb, fanout_max integer)
RETURNS TABLE (
  idx int, status text, id bigint, seq bigint, version bigint, created_at timestamptz,
  attachments jsonb, metadata jsonb,
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
  new_attachments jsonb;
  new_metadata jsonb;
BEGIN
  FOR item IN
    SELECT (e.value->>'i')::int AS i, (e.value->>'c')::bigint AS c, (e.value->>'s')::bigint AS s,
           e.value->>'t' AS t, e.value->>'x' AS x, e.value->>'k' AS k,
           CASE WHEN e.value->>'k' IS NULL THEN (e.value->>'r')::uuid END AS r,
           (e.value->>'p')::bigint AS p,
           nullif(e.value->'a', 'null'::jsonb) AS a, nullif(e.value->'d', 'null'::jsonb) AS d
    FROM jsonb_array_elements(items) WITH ORDINALITY AS e(value, ord)
    ORDER BY (e.value->>'c')::bigint, e.ord
  LOOP
    idx := item.i; id := NULL; seq := NULL; version := NULL; created_at := NULL; members := NULL;
    excluded := NULL; attachments := NULL; metadata := NULL;
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
    IF item.p IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM messages m WHERE m.id = item.p AND m.conversation_id = item.c
    ) THEN
      status := 'bad_reply'; RETURN NEXT; CONTINUE;
    END IF;
    INSERT INTO messages AS m
      (conversation_id, seq, version, sender_id, message_type, content, client_message_id, request_id,
       unread_total, reply_to_id, attachments, metadata)
    VALUES (item.c, conv.last_seq + 1, conv.version + 1, item.s, item.t, item.x, item.k, item.r,
            conv.unread_total + 1, item.p, item.a, item.d)
    ON CONFLICT (sender_id, client_message_id) DO NOTHING
    RETURNING m.id, m.seq, m.created_at, m.attachments, m.metadata
    INTO new_id, new_seq, new_created, new_attachments, new_metadata;
    IF NOT FOUND THEN
      status := 'duplicate'; RETURN NEXT; CONTINUE;
    END IF;
    UPDATE conversations c
    SET last_seq = new_seq, last_message_id = new_id, unread_total = conv.unread_total + 1,
        version = conv.version + 1, activity = nextval('conversation_activity_seq')
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
    status := 'stored'; id := new_id; seq := new_seq; version := conv.version + 1; created_at := new_created;
    attachments := new_attachments; metadata := new_metadata;
    conv_sender_id := conv.sender_id; conv_receiver_id := conv.receiver_id; conv_created_at := conv.created_at;
    conv_type := conv.type; conv_title := conv.title; conv_metadata := conv.metadata;
    conv_member_count := conv.member_count;
    RETURN NEXT;
  END LOOP;
END
$$`;
