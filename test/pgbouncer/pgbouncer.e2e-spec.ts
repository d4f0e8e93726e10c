import type { AuthResult, Conversation, Message, MessagePage } from '@parley/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connectRecorded,
  conversationBetween,
  PrivatePgBouncer,
  registerUser,
  request,
  sleep,
  TEST_PG_URL,
  waitFor,
  type Recorder,
} from '@parley/testing';
import { migrations } from '../../apps/chats/src/database/migrations/index.js';

// The chats service through PgBouncer in transaction pooling mode (Debian's 1.18): 4 instances with 20 client
// connections each share 4 server connections. They migrate as they start, all at once, through it.
const POOL = 4;
const TIMEOUT_MS = 1000;
let bouncer: PrivatePgBouncer;
let cluster: Cluster;

/** The most server connections PgBouncer held for the test database, and the most clients, while sampling. */
const peak = { servers: 0, backends: 0, clients: 0 };
let sampling = false;
let samples = 0;

beforeAll(async () => {
  if (!PrivatePgBouncer.available()) throw new Error('pgbouncer is missing: apt-get install -y pgbouncer');
  bouncer = await new PrivatePgBouncer({ poolSize: POOL }).start();
  cluster = await Cluster.start({
    gateways: 2,
    chats: 4,
    migrateFirst: false,
    databaseUrl: (db) => bouncer.urlFor(db.url),
    env: { DATABASE_POOLER: 'pgbouncer', DB_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS) },
    gatewayEnv: { RATE_LIMIT_MESSAGES_PER_SECOND: '100000', RATE_LIMIT_MESSAGES_BURST: '100000' },
  });
});
afterAll(async () => {
  sampling = false;
  await cluster?.stop();
  await bouncer?.stop();
});

interface PoolRow {
  database: string;
  cl_active: string;
  cl_waiting: string;
  sv_active: string;
  sv_idle: string;
  sv_used: string;
  sv_tested: string;
  sv_login: string;
}

/** Samples SHOW POOLS and Postgres's own backends of the test database until `sampling` is off. */
async function samplePools(): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  const [own] = await cluster.db.sql<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = own!.pid;
  try {
    while (sampling) {
      const pool = (await bouncer.show<PoolRow>('POOLS')).find((p) => p.database === cluster.db.name);
      if (pool) {
        const servers = ['sv_active', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login'] as const;
        peak.servers = Math.max(
          peak.servers,
          servers.reduce((n, k) => n + Number(pool[k]), 0),
        );
        peak.clients = Math.max(peak.clients, Number(pool.cl_active) + Number(pool.cl_waiting));
      }
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = $1 AND pid <> $2 AND backend_type = 'client backend'`,
        [cluster.db.name, pid],
      );
      peak.backends = Math.max(peak.backends, rows[0]!.n);
      samples++;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await admin.end();
  }
}

describe('the chats service through PgBouncer (transaction pooling)', () => {
  it('migrated once while 4 instances started together through it, and set statement_timeout on the role', async () => {
    const rows = await cluster.db.sql<{ name: string }>('SELECT name FROM migrations ORDER BY id');
    expect(rows.map((r) => r.name)).toEqual(migrations.map((m) => m.name));
    const [setting] = await cluster.db.sql<{ setconfig: string[] }>(
      `SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
       WHERE d.datname = current_database() AND s.setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
    );
    expect(setting?.setconfig).toContain(`statement_timeout=${TIMEOUT_MS}ms`);
  });

  it('stores each of many concurrent sends once, with gapless seqs, delivers each once, within the server pool', async () => {
    const users: AuthResult[] = [];
    for (let i = 0; i < 8; i++) users.push(await registerUser(cluster.gatewayUrl(i), `pb${i}`));
    const pairs: { a: AuthResult; b: AuthResult; conversation: Conversation }[] = [];
    for (let i = 0; i < users.length; i += 2) {
      const [a, b] = [users[i]!, users[i + 1]!];
      pairs.push({ a, b, conversation: await conversationBetween(cluster.gatewayUrl(i), a, b) });
    }
    const sockets = new Map<number, Recorder>();
    await Promise.all(
      users.map(async (u, i) => {
        sockets.set(u.user.id, await connectRecorded(cluster.gatewayUrl(i), { token: u.tokens.access }));
      }),
    );
    for (const { a, b, conversation } of pairs) {
      for (const u of [a, b]) {
        await request(sockets.get(u.user.id)!.socket, 'join-conversation', {
          conversationId: conversation.id,
          userId: u.user.id,
        });
      }
    }

    sampling = true;
    const sampler = samplePools();
    const PER_USER = 15;
    // Reads are not batched like sends: many at once make every instance open several client connections.
    const reads = pairs.flatMap(({ a, conversation }) =>
      Array.from({ length: 12 }, (_, i) =>
        api<MessagePage>(
          cluster.gatewayUrl(i),
          'GET',
          `/api/chats/conversations/${conversation.id}/messages`,
          {
            token: a.tokens.access,
          },
        ),
      ),
    );
    const acks = await Promise.all(
      pairs.flatMap(({ a, b, conversation }) =>
        [a, b].flatMap((sender) =>
          Array.from({ length: PER_USER }, (_, i) =>
            request<{ success: boolean; message: Message }>(
              sockets.get(sender.user.id)!.socket,
              'send-message',
              {
                sender_id: sender.user.id,
                conversation_id: conversation.id,
                message_type: 'text',
                content: `from ${sender.user.id} #${i}`,
                client_message_id: `pb-${sender.user.id}-${i}`,
              },
            ),
          ),
        ),
      ),
    );
    sampling = false;
    await sampler;
    expect(acks.every((a) => a.success)).toBe(true);
    expect((await Promise.all(reads)).every((r) => r.status === 200)).toBe(true);
    const total = pairs.length * 2 * PER_USER;

    // Stored once each, seq 1..n in every conversation.
    const stored = await cluster.db.sql<{ conversation_id: number; seqs: number[]; keys: number }>(
      `SELECT conversation_id, array_agg(seq ORDER BY seq) AS seqs, count(DISTINCT client_message_id)::int AS keys
       FROM messages GROUP BY conversation_id`,
    );
    expect(stored).toHaveLength(pairs.length);
    for (const row of stored) {
      expect(row.seqs.map(Number)).toEqual(Array.from({ length: 2 * PER_USER }, (_, i) => i + 1));
      expect(row.keys).toBe(2 * PER_USER);
    }
    expect(new Set(acks.map((a) => a.message.id)).size).toBe(total);

    // Delivered once each to the other member.
    for (const { a, b } of pairs) {
      for (const [me, other] of [
        [a, b],
        [b, a],
      ] as const) {
        const recorder = sockets.get(me.user.id)!;
        const fromOther = () =>
          recorder.of<Message>('receive-message').filter((m) => m.sender_id === other.user.id);
        await waitFor(`${PER_USER} messages from ${other.user.id}`, () => fromOther().length >= PER_USER);
      }
    }
    await sleep(300); // a duplicate delivery would arrive by now
    for (const { a, b } of pairs) {
      for (const [me, other] of [
        [a, b],
        [b, a],
      ] as const) {
        const fromOther = sockets
          .get(me.user.id)!
          .of<Message>('receive-message')
          .filter((m) => m.sender_id === other.user.id);
        expect(fromOther).toHaveLength(PER_USER);
        expect(new Set(fromOther.map((m) => m.id)).size).toBe(PER_USER);
      }
    }
    for (const r of sockets.values()) r.socket.close();

    // 4 × 20 client connections shared POOL server connections, as PgBouncer and Postgres both saw.
    expect(samples).toBeGreaterThan(0);
    expect(peak.servers).toBeGreaterThan(0);
    expect(peak.servers).toBeLessThanOrEqual(POOL);
    expect(peak.backends).toBeLessThanOrEqual(POOL);
    expect(peak.clients).toBeGreaterThan(POOL);
  });

  it('cancels a statement running longer than DB_STATEMENT_TIMEOUT_MS on every server connection', async () => {
    // POOL statements at once hold every server connection of the pool: each must have the timeout.
    const clients = Array.from(
      { length: POOL },
      () => new pg.Client({ connectionString: bouncer.urlFor(cluster.db.url) }),
    );
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const started = Date.now();
      const outcomes = await Promise.allSettled(clients.map((c) => c.query('SELECT pg_sleep(5)')));
      expect(
        outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code?: string }).code : 'ran')),
      ).toEqual(Array(POOL).fill('57014'));
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});
