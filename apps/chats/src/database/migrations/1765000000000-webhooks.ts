import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks: the endpoints operators register, and a transactional outbox. Triggers on the tables an event describes
 * write the event, and one delivery per subscribed endpoint, in the transaction of the change itself: a rollback
 * takes them back, a commit keeps them, so a crash neither loses an event nor invents one. With no endpoint
 * subscribed to a type, its trigger reads one row of webhook_endpoints' index and writes nothing.
 *
 * The triggers are statement-level with transition tables: a batch of sends (one statement per message inside
 * parley_send_messages) or a mark-read is one check and one insert. Event data is built here, in the contract's
 * names, so it is the state at the change, not at delivery.
 */
export class Webhooks1765000000000 implements MigrationInterface {
  name = 'Webhooks1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`CREATE TABLE "webhook_endpoints" (
      "id" SERIAL PRIMARY KEY,
      "url" character varying(2048) NOT NULL,
      "secret" character varying(100) NOT NULL,
      "events" character varying(32)[] NOT NULL,
      "description" character varying(200),
      "enabled" boolean NOT NULL DEFAULT true,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())`);
    await q(`CREATE TABLE "webhook_events" (
      "id" BIGSERIAL PRIMARY KEY,
      "event_id" uuid NOT NULL,
      "type" character varying(32) NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "data" jsonb NOT NULL,
      CONSTRAINT "webhook_events_event_id_key" UNIQUE ("event_id"))`);
    await q(`CREATE INDEX "webhook_events_created_idx" ON "webhook_events" ("created_at")`);
    await q(`CREATE TABLE "webhook_deliveries" (
      "id" BIGSERIAL PRIMARY KEY,
      "event_id" bigint NOT NULL REFERENCES "webhook_events"("id") ON DELETE CASCADE,
      "endpoint_id" integer NOT NULL REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE,
      "attempts" integer NOT NULL DEFAULT 0,
      "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "last_error" character varying(300),
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())`);
    await q(
      `CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" ("endpoint_id", "next_attempt_at")`,
    );
    await q(`CREATE INDEX "webhook_deliveries_event_idx" ON "webhook_deliveries" ("event_id")`);
    await q(`CREATE TABLE "webhook_dead_letters" (
      "id" BIGSERIAL PRIMARY KEY,
      "event_id" bigint NOT NULL REFERENCES "webhook_events"("id") ON DELETE CASCADE,
      "endpoint_id" integer NOT NULL REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE,
      "attempts" integer NOT NULL,
      "last_error" character varying(300),
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "dead_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())`);
    await q(
      `CREATE INDEX "webhook_dead_letters_endpoint_idx" ON "webhook_dead_letters" ("endpoint_id", "id")`,
    );
    await q(`CREATE INDEX "webhook_dead_letters_event_idx" ON "webhook_dead_letters" ("event_id")`);

    for (const statement of FUNCTIONS) await q(statement);
    for (const [name, table, timing, fn] of TRIGGERS) {
      await q(`CREATE TRIGGER "${name}" AFTER ${timing} ON "${table}"
               ${timing === 'INSERT' ? 'REFERENCING NEW TABLE AS new_rows' : 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'}
               FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    for (const [name, table] of TRIGGERS) await q(`DROP TRIGGER "${name}" ON "${table}"`);
    for (const fn of [...TRIGGERS.map((t) => t[3]), 'parley_webhook_message', 'parley_iso']) {
      await q(`DROP FUNCTION ${fn}`);
    }
    await q(`DROP FUNCTION parley_webhook_emit`);
    await q(`DROP FUNCTION parley_webhook_wanted`);
    await q(`DROP TABLE "webhook_dead_letters"`);
    await q(`DROP TABLE "webhook_deliveries"`);
    await q(`DROP TABLE "webhook_events"`);
    await q(`DROP TABLE "webhook_endpoints"`);
  }
}

/** The outbox's triggers (the benchmark disables them to measure Parley without). */
export const TRIGGERS: [name: string, table: string, timing: 'INSERT' | 'UPDATE', fn: string][] = [
  ['webhooks_message_new', 'messages', 'INSERT', 'parley_webhooks_message_new'],
  ['webhooks_message_updated', 'messages', 'UPDATE', 'parley_webhooks_message_updated'],
  ['webhooks_conversation_created', 'conversations', 'INSERT', 'parley_webhooks_conversation_created'],
  ['webhooks_membership', 'membership_events', 'INSERT', 'parley_webhooks_membership'],
  ['webhooks_read_updated', 'conversation_participants', 'UPDATE', 'parley_webhooks_read_updated'],
];

const FUNCTIONS = [
  // The contract's timestamps: ISO 8601 in UTC with milliseconds, as JavaScript's toISOString writes them.
  `CREATE FUNCTION parley_iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
     SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
   $$`,
  `CREATE FUNCTION parley_webhook_wanted(event_type text) RETURNS boolean LANGUAGE sql STABLE AS $$
     SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled AND event_type = ANY(events))
   $$`,
  // One event per element of \`items\`, and a delivery of it to each enabled endpoint subscribed to its type.
  `CREATE FUNCTION parley_webhook_emit(event_type text, items jsonb) RETURNS void LANGUAGE sql AS $$
     WITH events AS (
       INSERT INTO webhook_events (event_id, type, data)
       SELECT gen_random_uuid(), event_type, item FROM jsonb_array_elements(coalesce(items, '[]'::jsonb)) AS item
       RETURNING id
     )
     INSERT INTO webhook_deliveries (event_id, endpoint_id)
     SELECT e.id, ep.id FROM events e
     CROSS JOIN webhook_endpoints ep WHERE ep.enabled AND event_type = ANY(ep.events)
   $$`,
  `CREATE FUNCTION parley_webhook_message(m messages) RETURNS jsonb LANGUAGE sql STABLE AS $$
     SELECT jsonb_build_object(
       'id', m.id, 'conversation_id', m.conversation_id, 'sender_id', m.sender_id, 'seq', m.seq,
       'version', m.version, 'message_type', m.message_type, 'content', m.content,
       'client_message_id', m.client_message_id, 'created_at', parley_iso(m.created_at),
       'edited_at', parley_iso(m.edited_at), 'deleted_at', parley_iso(m.deleted_at),
       'reply_to_id', m.reply_to_id, 'attachments', coalesce(m.attachments, '[]'::jsonb),
       'metadata', coalesce(m.metadata, '{}'::jsonb), 'reactions', coalesce(m.reactions, '{}'::jsonb),
       'system', m.system)
   $$`,
  `CREATE FUNCTION parley_webhooks_message_new() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF parley_webhook_wanted('message.new') THEN
       PERFORM parley_webhook_emit('message.new',
         (SELECT jsonb_agg(jsonb_build_object('message', parley_webhook_message(n)) ORDER BY n.id) FROM new_rows n));
     END IF;
     RETURN NULL;
   END $$`,
  // Edits, deletions and reactions: every change a client sees bumps the message's version.
  `CREATE FUNCTION parley_webhooks_message_updated() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF parley_webhook_wanted('message.updated') THEN
       PERFORM parley_webhook_emit('message.updated',
         (SELECT jsonb_agg(jsonb_build_object(
            'change', CASE WHEN n.deleted_at IS NOT NULL AND o.deleted_at IS NULL THEN 'deleted'
                           WHEN n.edited_at IS DISTINCT FROM o.edited_at THEN 'edited'
                           ELSE 'reactions' END,
            'message', parley_webhook_message(n)) ORDER BY n.id)
          FROM new_rows n JOIN old_rows o ON o.id = n.id
          WHERE n.version IS DISTINCT FROM o.version));
     END IF;
     RETURN NULL;
   END $$`,
  `CREATE FUNCTION parley_webhooks_conversation_created() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF parley_webhook_wanted('conversation.created') THEN
       PERFORM parley_webhook_emit('conversation.created',
         (SELECT jsonb_agg(jsonb_build_object('conversation', jsonb_build_object(
            'id', n.id, 'type', n.type, 'title', n.title, 'metadata', n.metadata,
            'sender_id', n.sender_id, 'receiver_id', n.receiver_id, 'created_at', parley_iso(n.created_at)))
            ORDER BY n.id)
          FROM new_rows n));
     END IF;
     RETURN NULL;
   END $$`,
  // A group's members change through membership_events; a direct conversation's two users are in its event.
  `CREATE FUNCTION parley_webhooks_membership() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF parley_webhook_wanted('member.added') THEN
       PERFORM parley_webhook_emit('member.added',
         (SELECT jsonb_agg(jsonb_build_object(
            'conversation_id', n.conversation_id, 'user_id', n.user_id, 'actor_id', n.actor_id,
            'role', n.role, 'created_at', parley_iso(n.created_at)) ORDER BY n.id)
          FROM new_rows n WHERE n.action = 'added'));
     END IF;
     IF parley_webhook_wanted('member.removed') THEN
       PERFORM parley_webhook_emit('member.removed',
         (SELECT jsonb_agg(jsonb_build_object(
            'conversation_id', n.conversation_id, 'user_id', n.user_id, 'actor_id', n.actor_id,
            'reason', n.action, 'created_at', parley_iso(n.created_at)) ORDER BY n.id)
          FROM new_rows n WHERE n.action IN ('removed', 'left')));
     END IF;
     RETURN NULL;
   END $$`,
  // A read mark moved forward, except the sender's own, which every send moves to the message it stores.
  `CREATE FUNCTION parley_webhooks_read_updated() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF parley_webhook_wanted('read.updated') THEN
       PERFORM parley_webhook_emit('read.updated',
         (SELECT jsonb_agg(jsonb_build_object(
            'conversation_id', n.conversation_id, 'user_id', n.user_id, 'last_read_seq', n.last_read_seq,
            'previous_read_seq', o.last_read_seq) ORDER BY n.conversation_id, n.user_id)
          FROM new_rows n
          JOIN old_rows o ON o.conversation_id = n.conversation_id AND o.user_id = n.user_id
          WHERE n.last_read_seq > o.last_read_seq
            AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = n.conversation_id
                            AND m.seq = n.last_read_seq AND m.sender_id = n.user_id)));
     END IF;
     RETURN NULL;
   END $$`,
];
