import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `parley_send_messages(items jsonb)`: stores a batch of messages in one call, so the chats service can commit
 * many concurrent sends in one transaction (one round trip, one WAL flush). Each item is
 * `{i, c, s, t, x, k}` (index, conversation, sender, type, content, client_message_id) and gets one result row:
 * `stored` with the new message, or `not_found`, `not_participant`, `duplicate` (its client_message_id was
 * already used; the caller looks the stored message up).
 *
 * Items are handled in conversation id order (and, within a conversation, in the order given), so concurrent
 * batches take conversation row locks in the same order and cannot deadlock. Each item does what the
 * single-message statement does: lock the conversation, take the next seq, insert (nothing, and no seq used, for a
 * repeated client_message_id), move last_seq, the participants' list order and the sender's read mark.
 */
export class SendMessagesFunction1763740000000 implements MigrationInterface {
  name = 'SendMessagesFunction1763740000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE FUNCTION parley_send_messages(items jsonb)
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
           e.value->>'t' AS t, e.value->>'x' AS x, e.value->>'k' AS k
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
    INSERT INTO messages AS m (conversation_id, seq, sender_id, message_type, content, client_message_id)
    VALUES (item.c, conv.last_seq + 1, item.s, item.t, item.x, item.k)
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
$$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION parley_send_messages(jsonb)`);
  }
}
