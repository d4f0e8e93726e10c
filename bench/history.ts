// History: REST page latency at the newest end, middle and oldest end of a 1,000,000-message conversation, and the
// conversation list of a user with 1,000 conversations, next to `GET /health/live` timed the same way (the floor of
// any REST request). Target (issue 15): history p99 ≤ 1.5× the floor's p99.
import { Agent as HttpAgent, get as httpGet } from 'node:http';
import { TEST_JWT_SECRET } from '../test/support/cluster.js';
import { percentiles } from './latency.js';
import { accessToken, createPairs, now } from './lib.js';
import type { BenchResults } from './results.js';
import { startParley } from './systems.js';

/** Each history loop: this many unrecorded requests, then this many timed. */
const HISTORY_WARMUP_REQUESTS = 1000;
const HISTORY_TIMED_REQUESTS = 500;

export async function history(total: number): Promise<NonNullable<BenchResults['history']>> {
  console.log(`\n[history] one conversation with ${total} messages; one user with 1,000 conversations`);
  const sys = await startParley({ gateways: 1, chats: 1 });
  const cluster = sys.cluster;
  const db = cluster.db;
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  try {
    const [pair] = await createPairs(db, 1, 'h');
    const t0 = now();
    await db.sql(
      `INSERT INTO messages (conversation_id, seq, sender_id, message_type, content, created_at)
       SELECT $1, g, CASE WHEN g % 2 = 0 THEN $2::bigint ELSE $3::bigint END, 'text', 'history message ' || g, now()
       FROM generate_series(1, $4::int) g`,
      [pair!.conversationId, pair!.a, pair!.b, total],
    );
    await db.sql(
      `UPDATE conversations SET last_seq = $2, last_message_id = (SELECT max(id) FROM messages WHERE conversation_id = $1) WHERE id = $1`,
      [pair!.conversationId, total],
    );
    await db.sql('ANALYZE');
    console.log(`  inserted ${total} messages in ${((now() - t0) / 1000).toFixed(1)} s`);
    const token = accessToken(pair!.a, TEST_JWT_SECRET);
    const url = cluster.gatewayUrl(0);
    // One keep-alive connection through node:http, so that what is timed is the server rather than the client's
    // per-request work (`fetch` added 0.1–0.3 ms at p50 and 2–4 ms at p99 to `GET /health/live` here). Each loop
    // first runs unrecorded, so the code is compiled by the JIT, as in the rate sweep.
    const get = (path: string, bearer: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        httpGet(`${url}${path}`, { agent, headers: { authorization: `Bearer ${bearer}` } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        }).on('error', reject);
      });
    const time = async (path: string, bearer = token) => {
      const samples: number[] = [];
      for (let i = 0; i < HISTORY_WARMUP_REQUESTS + HISTORY_TIMED_REQUESTS; i++) {
        const s = now();
        const res = await get(path, bearer);
        if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
        if (i >= HISTORY_WARMUP_REQUESTS) samples.push(now() - s);
      }
      return percentiles(samples);
    };
    // The same request loop on an endpoint that does no RPC and no query: the floor the pages are measured above.
    const floor = await time('/health/live');
    const base = `/api/chats/conversations/${pair!.conversationId}/messages`;
    const pages = {
      newest: await time(`${base}?page=1&limit=20`),
      middle: await time(`${base}?before_seq=${Math.floor(total / 2) + 1}&limit=20`),
      oldest: await time(`${base}?after_seq=0&limit=20`),
      deepPage: await time(`${base}?page=${Math.floor(total / 20 / 2)}&limit=20`),
    };
    // A user with 1,000 conversations.
    const [owner] = await db.sql<{ id: number }>(
      `INSERT INTO users (username, username_key, display_name, password_hash) VALUES ('hlist','hlist','hlist','x') RETURNING id`,
    );
    const others = await db.sql<{ id: number }>(
      `INSERT INTO users (username, username_key, display_name, password_hash) SELECT 'hl' || g, 'hl' || g, 'hl' || g, 'x' FROM generate_series(1, 1000) g RETURNING id`,
    );
    const convs = await db.sql<{ id: number }>(
      `INSERT INTO conversations (sender_id, receiver_id, pair_low, pair_high)
       SELECT $1::bigint, o, least($1::bigint, o), greatest($1::bigint, o) FROM unnest($2::bigint[]) o RETURNING id`,
      [owner!.id, others.map((o) => o.id)],
    );
    await db.sql(
      `INSERT INTO conversation_participants (conversation_id, user_id, activity)
       SELECT c.id, u, nextval('conversation_activity_seq') FROM conversations c, unnest(ARRAY[c.sender_id, c.receiver_id]) u WHERE c.id = ANY($1::bigint[])`,
      [convs.map((c) => c.id)],
    );
    await db.sql('ANALYZE');
    const ownerToken = accessToken(owner!.id, TEST_JWT_SECRET);
    let cursor: string | null = null;
    for (let i = 0; i < 25; i++) {
      const res = await get(
        `/api/chats/conversations?limit=20${cursor ? `&cursor=${cursor}` : ''}`,
        ownerToken,
      );
      cursor = (JSON.parse(res.body) as { next_cursor: string | null }).next_cursor;
    }
    const list = {
      firstPage: await time('/api/chats/conversations?limit=20', ownerToken),
      page26: await time(`/api/chats/conversations?limit=20&cursor=${cursor}`, ownerToken),
    };
    const explain = async (sql: string, values: unknown[]) => {
      const rows = await db.sql<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, values);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      return {
        indexOnly: !/Seq Scan/.test(plan),
        executionMs: Number(/Execution Time: ([\d.]+)/.exec(plan)?.[1] ?? NaN),
      };
    };
    const plans = {
      oldest: await explain(
        'SELECT * FROM messages WHERE conversation_id = $1 AND seq > 0 ORDER BY seq LIMIT 21',
        [pair!.conversationId],
      ),
      middle: await explain(
        'SELECT * FROM messages WHERE conversation_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 21',
        [pair!.conversationId, total / 2],
      ),
      list: await explain(
        'SELECT * FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id WHERE p.user_id = $1 ORDER BY p.activity DESC LIMIT 21',
        [owner!.id],
      ),
    };
    const fmt = (p: { p50: number; p99: number }) => `p50 ${p.p50.toFixed(2)} p99 ${p.p99.toFixed(2)} ms`;
    console.log(`  GET /health/live (the floor): ${fmt(floor)}`);
    for (const [k, v] of Object.entries(pages)) console.log(`  history ${k}: ${fmt(v)}`);
    for (const [k, v] of Object.entries(list)) console.log(`  list ${k}: ${fmt(v)}`);
    return { messages: total, floor, pages, list, plans };
  } finally {
    agent.destroy();
    await sys.stop();
  }
}
