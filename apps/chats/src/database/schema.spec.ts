import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { TestDatabase } from '@parley/testing';
import { dataSourceOptions, migrate } from './data-source.js';
import { migrations } from './migrations/index.js';

// Entities and migrations must describe the same schema: after running every migration on an empty database,
// TypeORM must find nothing to change. A new column in an entity without its migration (or the reverse) fails here.
const MIGRATIONS = [
  'InitialSchema1763712000000',
  'SendMessagesFunction1763740000000',
  'Sessions1764600000000',
  'Groups1764700000000',
  'MessageLifecycle1764800000000',
  'UserProfiles1764900000000',
  'Webhooks1765000000000',
  'PushSubscriptions1765100000000',
];

describe('schema', () => {
  const db = new TestDatabase();
  let dataSource: DataSource;

  beforeAll(async () => {
    await db.create();
    dataSource = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db.drop();
  });

  it('migrations produce exactly what the entities describe', async () => {
    expect(await migrate(dataSource)).toEqual(MIGRATIONS);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('running migrations again is a no-op, and they can be reverted', async () => {
    expect(await migrate(dataSource)).toEqual([]);
    for (let i = 0; i < MIGRATIONS.length; i++) await dataSource.undoLastMigration();
    const tables = await db.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'`,
    );
    expect(tables[0]!.n).toBe(0);
    expect(await migrate(dataSource)).toEqual(MIGRATIONS);
  });
});

// Migration 3 replaces refresh-token rows by sessions: logins made before it keep working, nothing else is lost.
describe('migration to sessions', () => {
  const db = new TestDatabase();
  const [live, used, revoked, expired, other] = [
    '00000000-0000-4000-8000-000000000001',
    '00000000-0000-4000-8000-000000000002',
    '00000000-0000-4000-8000-000000000003',
    '00000000-0000-4000-8000-000000000004',
    '00000000-0000-4000-8000-000000000005',
  ];
  const families = ['10000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000002'];

  afterAll(async () => {
    await db.drop();
  });

  it('carries each refresh-token family over as a session whose current token is its newest', async () => {
    await db.create();
    const before = await new DataSource({
      ...dataSourceOptions(db.url, 2),
      migrations: migrations.slice(0, 2),
    }).initialize();
    await migrate(before);
    await before.destroy();
    await db.sql(`INSERT INTO users (id, username, username_key, display_name, password_hash)
                  VALUES (1, 'ann', 'ann', 'Ann', 'h')`);
    // Family 1: a used token and its live successor. Family 2: revoked. A third, alone: expired.
    await db.sql(
      `INSERT INTO refresh_tokens (id, user_id, family_id, expires_at, used_at, revoked_at, created_at) VALUES
        ($1, 1, $6, now() + interval '1 day', now() - interval '1 hour', NULL, now() - interval '2 hours'),
        ($2, 1, $6, now() + interval '2 days', NULL, NULL, now() - interval '1 hour'),
        ($3, 1, $7, now() + interval '1 day', NULL, now() - interval '5 minutes', now() - interval '3 hours'),
        ($4, 1, $4, now() - interval '1 day', NULL, NULL, now() - interval '40 days'),
        ($5, 1, $5, now() + interval '1 day', NULL, NULL, now())`,
      [used, live, revoked, expired, other, families[0], families[1]],
    );
    const after = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
    expect(await migrate(after)).toEqual(MIGRATIONS.slice(2));
    await after.destroy();
    const sessions = await db.sql<{
      id: string;
      current_jti: string;
      ended: boolean;
      end_reason: string | null;
    }>(`SELECT id, current_jti, ended_at IS NOT NULL AS ended, end_reason FROM sessions ORDER BY id`);
    expect(sessions).toEqual([
      { id: expired, current_jti: expired, ended: true, end_reason: 'migrated' },
      { id: other, current_jti: other, ended: false, end_reason: null },
      { id: families[0], current_jti: live, ended: false, end_reason: null },
      { id: families[1], current_jti: revoked, ended: true, end_reason: 'migrated' },
    ]);
    const [created] = await db.sql<{ ok: boolean }>(
      `SELECT created_at < now() - interval '90 minutes' AS ok FROM sessions WHERE id = $1`,
      [families[0]],
    );
    expect(created!.ok).toBe(true); // the family's first login, not its last refresh
  });
});

// Migration 4 turns every conversation into a direct one with its two members, read marks and unread counts.
describe('migration to groups', () => {
  const db = new TestDatabase();

  afterAll(async () => {
    await db.drop();
  });

  it('keeps conversations, read marks and list order, and records each member as added', async () => {
    await db.create();
    const before = await new DataSource({
      ...dataSourceOptions(db.url, 2),
      migrations: migrations.slice(0, 3),
    }).initialize();
    await migrate(before);
    await before.destroy();
    await db.sql(`INSERT INTO users (id, username, username_key, display_name, password_hash)
                  VALUES (1, 'ann', 'ann', 'Ann', 'h'), (2, 'bob', 'bob', 'Bob', 'h')`);
    await db.sql(`INSERT INTO conversations (id, sender_id, receiver_id, pair_low, pair_high, last_seq)
                  VALUES (7, 2, 1, 1, 2, 3)`);
    await db.sql(`INSERT INTO conversation_participants (conversation_id, user_id, last_read_seq, activity)
                  VALUES (7, 1, 1, 40), (7, 2, 3, 41)`);
    await db.sql(`INSERT INTO messages (conversation_id, seq, sender_id, message_type, content) VALUES
                  (7, 1, 1, 'text', 'a'), (7, 2, 2, 'text', 'b'), (7, 3, 2, 'text', 'c')`);
    const after = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
    expect(await migrate(after)).toEqual(MIGRATIONS.slice(3));
    await after.destroy();
    expect(
      await db.sql(
        `SELECT type, title, metadata, member_count, unread_total::int, activity::int FROM conversations`,
      ),
    ).toEqual([
      { type: 'direct', title: null, metadata: {}, member_count: 2, unread_total: 3, activity: 41 },
    ]);
    expect(
      await db.sql(`SELECT user_id::int, role, last_read_seq::int, read_total::int, activity::int, muted
                    FROM conversation_participants ORDER BY user_id`),
    ).toEqual([
      { user_id: 1, role: 'member', last_read_seq: 1, read_total: 1, activity: 40, muted: false },
      { user_id: 2, role: 'member', last_read_seq: 3, read_total: 3, activity: 41, muted: false },
    ]);
    expect(
      await db.sql(
        `SELECT conversation_id::int, user_id::int, action FROM membership_events ORDER BY user_id`,
      ),
    ).toEqual([
      { conversation_id: 7, user_id: 1, action: 'added' },
      { conversation_id: 7, user_id: 2, action: 'added' },
    ]);
  });
});

// Migration 5 counts changes: what existed took one version per message, so versions are the seqs, unrewritten.
describe('migration to the message lifecycle', () => {
  const db = new TestDatabase();

  afterAll(async () => {
    await db.drop();
  });

  it("gives each conversation its last_seq as version and reads each old message's version as its seq", async () => {
    await db.create();
    const before = await new DataSource({
      ...dataSourceOptions(db.url, 2),
      migrations: migrations.slice(0, 4),
    }).initialize();
    await migrate(before);
    await before.destroy();
    await db.sql(`INSERT INTO users (id, username, username_key, display_name, password_hash)
                  VALUES (1, 'ann', 'ann', 'Ann', 'h'), (2, 'bob', 'bob', 'Bob', 'h')`);
    await db.sql(`INSERT INTO conversations (id, sender_id, receiver_id, pair_low, pair_high, last_seq)
                  VALUES (7, 2, 1, 1, 2, 3)`);
    await db.sql(`INSERT INTO messages (conversation_id, seq, sender_id, message_type, content) VALUES
                  (7, 1, 1, 'text', 'a'), (7, 2, 2, 'text', 'b'), (7, 3, 2, 'text', 'c')`);
    const after = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
    expect(await migrate(after)).toEqual(MIGRATIONS.slice(4));
    await after.destroy();
    expect(await db.sql(`SELECT version::int FROM conversations`)).toEqual([{ version: 3 }]);
    expect(
      await db.sql(`SELECT seq::int, version, coalesce(version, seq)::int AS read_as, edited_at, deleted_at,
                           reply_to_id, attachments, metadata, reactions
                    FROM messages ORDER BY seq`),
    ).toEqual(
      [1, 2, 3].map((seq) => ({
        seq,
        version: null,
        read_as: seq,
        edited_at: null,
        deleted_at: null,
        reply_to_id: null,
        attachments: null,
        metadata: null,
        reactions: null,
      })),
    );
    // The catch-up by version is a range of its index, not a scan of the conversation's messages.
    await db.sql(`SET enable_seqscan = off`);
    const plan = await db.sql<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM messages m WHERE m.conversation_id = 7 AND coalesce(m.version, m.seq) > 1
       ORDER BY coalesce(m.version, m.seq) LIMIT 10`,
    );
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('messages_version_idx');
  });
});
