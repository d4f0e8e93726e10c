// `npm run bench`: Parley against a raw Socket.IO baseline and the seed's "stock" design, in one run, on this machine.
// Writes bench/results/<date>.json (and latest.json), docs/benchmarks.md's generated section and docs/benchmarks-p99.svg.
// Options: --systems baseline,stock,parley  --rates 500,1000,...  --duration 6  --warmup 2  --pairs 100
//          --jit-warmup 30 (seconds of unrecorded load at JIT_WARMUP_RATE before each system's sweep)
//          --instances 1,1 (Parley's gateways,chats; 2,2 by default)
//          --skip rates,groups,connections,reconnect,history  --quick (short runs, fewer rates; for trying a change)
//          --group-steps 10:20,100:20,10:50 (group size:offered messages/s, Parley only)  --group-sockets 200
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { Agent as HttpAgent, get as httpGet } from 'node:http';
import { cpus, totalmem, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { Cluster, TEST_JWT_SECRET } from '../test/support/cluster.js';
import { freePort } from '../tools/lib/ports.js';
import { waitFor } from '../tools/lib/wait.js';
import { REPO_ROOT } from '../tools/lib/app-process.js';
import { groupScenario, parseGroupSteps } from './groups.js';
import {
  accessToken,
  connectUsers,
  cpuBetween,
  JOIN_ATTEMPTS,
  createPairs,
  mergeResults,
  pairUsers,
  percentiles,
  procStat,
  sampleProcesses,
  sleep,
  Worker,
} from './lib.js';
import type { BenchUser } from './protocol.js';
import { writeReport, type BenchResults, type RateStep, type SystemName } from './report.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : fallback;
};
const quick = argv.includes('--quick');
const systems = opt('systems', 'baseline,stock,parley').split(',') as SystemName[];
const rates = opt(
  'rates',
  quick ? '250,500,1000,2000,4000,8000' : '100,200,300,400,600,1000,2000,3000,4000,6000,8000,12000,16000',
)
  .split(',')
  .map(Number);
const warmupMs = Number(opt('warmup', quick ? '1' : '2')) * 1000;
const durationMs = Number(opt('duration', quick ? '4' : '6')) * 1000;
const pairs = Number(opt('pairs', '100'));
/**
 * Before its sweep each system runs this long, unrecorded, at JIT_WARMUP_RATE: a server is measured as it runs for
 * days, with its hot code compiled. Parley's processes take 10–15 s of such load to settle (their CPU per message
 * falls by about 40% over that time, docs/benchmarks.md, "Warm code"); a few seconds measured them half cold.
 */
const jitWarmupMs = Number(opt('jit-warmup', quick ? '10' : '30')) * 1000;
const JIT_WARMUP_RATE = 200;
const skip = new Set(opt('skip', '').split(','));
/**
 * The group scenario: group size and offered messages/s, over all groups of that size. 10 and 100 members at the
 * same rate give the cost of one more receiver (docs/benchmarks.md); 100 is GROUP_FANOUT_MAX's default, the largest
 * group whose `conversation-updated` is sent per message rather than coalesced. The rates are low because each
 * message to 100 members is 99 deliveries and up to 100 `conversation-updated` broadcasts.
 */
const groupSteps = parseGroupSteps(opt('group-steps', quick ? '10:20,100:20' : '10:20,100:20,10:50'));
/** Sockets per group size (groups of 10: 20 groups; of 100: 2). */
const groupSockets = Number(opt('group-sockets', '200'));
/** Parley's instances, `gateways,chats` (2,2 as shipped; 1,1 runs it with the process count of "stock"). */
const [parleyGateways, parleyChats] = opt('instances', '2,2').split(',').map(Number) as [number, number];
const now = () => performance.timeOrigin + performance.now();
/** The offered rate of the summary table's latency columns. */
const TABLE_RATE = 1000;
/** How long the reconnect measurement waits for every client to be back. */
const RECONNECT_WAIT_MS = 120_000;
/** Each history loop: this many unrecorded requests, then this many timed. */
const HISTORY_WARMUP_REQUESTS = 1000;
const HISTORY_TIMED_REQUESTS = 500;

// Rate limits are raised: the benchmark measures delivery, not the limiter (whose Redis call is still made).
const BENCH_ENV = {
  RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
  RATE_LIMIT_MESSAGES_BURST: '100000',
  // The history scenario times 1,500 page reads per loop from one user.
  RATE_LIMIT_HISTORY_PER_SECOND: '100000',
  RATE_LIMIT_HISTORY_BURST: '100000',
  LOG_LEVEL: 'warn',
};

interface RunningSystem {
  name: SystemName;
  /** URLs for the two members of each pair (different instances where there are several). */
  urls: [string, string];
  pids: Record<string, number>;
  cluster?: Cluster;
  users(pairs: number, tag: string): Promise<BenchUser[]>;
  stop(): Promise<void>;
}

async function startBaseline(): Promise<RunningSystem & { proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./baseline-server.ts', import.meta.url)), String(port)],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      cwd: REPO_ROOT,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'the baseline server',
    async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.ok,
    30_000,
  );
  let nextUser = 1;
  return {
    name: 'baseline',
    proc,
    urls: [url, url],
    pids: { baseline: proc.pid! },
    async users(n: number) {
      const users: BenchUser[] = [];
      for (let i = 0; i < n; i++) {
        const a = nextUser++;
        const b = nextUser++;
        users.push(
          { id: a, token: '', conversationId: i + 1, url, sends: true },
          { id: b, token: '', conversationId: i + 1, url, sends: true },
        );
      }
      return users;
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

async function startParley(
  name: 'parley' | 'stock',
  opts: { gateways?: number; chats?: number; gatewayPort?: number } = {},
): Promise<RunningSystem> {
  const stock = name === 'stock';
  const cluster = await Cluster.start({
    gateways: 0,
    chats: opts.chats ?? (stock ? 1 : 2),
    env: { ...BENCH_ENV, ...(stock ? { RPC_TRANSPORT: 'redis-pubsub', MESSAGE_BATCH_MAX: '1' } : {}) },
  });
  const gateways = opts.gateways ?? (stock ? 1 : 2);
  for (let i = 0; i < gateways; i++)
    await cluster.startGateway(opts.gatewayPort && i === 0 ? { PORT: String(opts.gatewayPort) } : {});
  const pids: Record<string, number> = {};
  for (const p of [...cluster.gateways, ...cluster.chats]) pids[p.name] = p.proc.pid!;
  return {
    name,
    cluster,
    urls: [cluster.gatewayUrl(0), cluster.gatewayUrl(1)],
    pids,
    async users(n: number, tag: string) {
      const convs = await createPairs(cluster.db, n, tag);
      return pairUsers(convs, [cluster.gatewayUrl(0), cluster.gatewayUrl(1)], TEST_JWT_SECRET);
    },
    stop: () => cluster.stop(),
  };
}

async function measure(
  sys: RunningSystem,
  workers: Worker[],
  senders: number,
  rate: number,
  label = '',
  measuredMs = durationMs,
): Promise<RateStep> {
  const tag = `r${rate}-${Date.now().toString(36)}`;
  const ratePerSender = rate / senders;
  const pids = { ...sys.pids, ...Object.fromEntries(workers.map((w, i) => [`load-worker-${i + 1}`, w.pid])) };
  const results = Promise.all(
    workers.map((w) =>
      w.ask({ type: 'run', ratePerSender, warmupMs, durationMs: measuredMs, drainMs: 5000, tag }, 'result'),
    ),
  );
  await sleep(warmupMs);
  const before = sampleProcesses(pids, sys.cluster?.db.name);
  await sleep(measuredMs);
  const after = sampleProcesses(pids, sys.cluster?.db.name);
  const r = mergeResults((await results).map((m) => m.result));
  const e2e = percentiles(r.e2e);
  const ack = percentiles(r.ack);
  const lost = Math.max(0, r.expected - r.delivered);
  const seconds = measuredMs / 1000;
  const { processes, cpuSeconds } = cpuBetween(before, after, seconds);
  const step: RateStep = {
    offered: rate,
    cpuMsPerMessage: r.sent > 0 ? Math.round((cpuSeconds / r.sent) * 1e5) / 100 : 0,
    sent: r.sent,
    acked: r.acked,
    unacked: r.sent - r.acked,
    delivered: r.delivered,
    lost,
    duplicated: r.duplicated,
    outOfOrder: r.outOfOrder,
    deliveredPerSecond: Math.round(r.delivered / seconds),
    e2e,
    ack,
    processes,
    sustained: lost === 0 && r.duplicated === 0 && r.sent === r.acked && e2e.p99 <= 50 && r.sent > 0,
  };
  const fmt = (x: number) => x.toFixed(1);
  console.log(
    `  ${sys.name} @ ${rate}/s${label ? ` (${label})` : ''}: sent ${r.sent} acked ${r.acked} delivered ${r.delivered} lost ${lost} dup ${r.duplicated} ` +
      `ooo ${r.outOfOrder} | e2e p50 ${fmt(e2e.p50)} p99 ${fmt(e2e.p99)} max ${fmt(e2e.max)} ms | ack p99 ${fmt(ack.p99)} ms ` +
      `${step.sustained ? '✓' : '✗'}`,
  );
  return step;
}

async function rateSweep(name: SystemName): Promise<{ steps: RateStep[]; maxSustained: number }> {
  console.log(`\n[${name}] rate sweep`);
  const sys =
    name === 'baseline'
      ? await startBaseline()
      : await startParley(name, name === 'parley' ? { gateways: parleyGateways, chats: parleyChats } : {});
  const workers = [new Worker(), new Worker()];
  try {
    const users = await sys.users(pairs, `${name}b`);
    const { connected, failed, joined, joinErrors } = await connectUsers(
      workers,
      users,
      true,
      false,
      JOIN_ATTEMPTS,
    );
    if (failed > 0) throw new Error(`${failed} of ${users.length} users could not connect`);
    // A user whose join was refused is not in the room, and its receipts will show as lost: say so up front.
    const refused = Object.entries(joinErrors)
      .map(([k, v]) => `${k} × ${v}`)
      .join(', ');
    console.log(
      `  ${connected} users connected (${pairs} conversations), ${workers.length} load workers` +
        (refused ? `; joins refused: ${refused}` : '') +
        (joined < connected ? `; ${connected - joined} never joined` : ''),
    );
    const senders = users.filter((u) => u.sends).length;
    // One unrecorded step first, so every system is measured with its code already compiled by the JIT.
    await measure(sys, workers, senders, JIT_WARMUP_RATE, 'warm-up', jitWarmupMs);
    // On a shared 2-core machine one step can fail on a passing hiccup: a failed rate is run once more, and counts
    // as failed only when that fails too (the report marks rates passed at the second try).
    const attempt = async (rate: number) => {
      const first = await measure(sys, workers, senders, rate);
      if (first.sustained) return first;
      const second = await measure(sys, workers, senders, rate, 'again');
      return { ...second, attempts: 2 };
    };
    const steps: RateStep[] = [];
    let lastPass = 0;
    for (const rate of rates) {
      const step = await attempt(rate);
      steps.push(step);
      if (step.sustained) {
        lastPass = rate;
        continue;
      }
      // One bisection step between the last sustained rate and this one, then stop.
      const grain = rate <= 1000 ? 50 : 100;
      const mid = Math.round((lastPass + rate) / 2 / grain) * grain;
      if (lastPass > 0 && mid > lastPass && mid < rate) {
        const midStep = await attempt(mid);
        steps.push(midStep);
        if (midStep.sustained) lastPass = mid;
      }
      break;
    }
    // The summary table compares the systems at 1,000 messages/s: measured even past a system's maximum.
    if (rates.includes(TABLE_RATE) && !steps.some((st) => st.offered === TABLE_RATE)) {
      steps.push(await measure(sys, workers, senders, TABLE_RATE));
    }
    return { steps: steps.sort((a, b) => a.offered - b.offered), maxSustained: lastPass };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await sys.stop();
  }
}

/**
 * What a process keeps after a full garbage collection: its heap in use and its RSS. The bench opens the process's
 * inspector (SIGUSR1, which Node answers by listening on 127.0.0.1:9229) and asks it to collect garbage, then for
 * `process.memoryUsage()`. Without the collection, a reading counts whatever garbage the connecting left behind
 * (it moved the RSS ratio between 1.1× and 1.5× from run to run). One process at a time.
 */
async function memoryAfterGc(pid: number): Promise<{ rss: number; heapUsed: number }> {
  process.kill(pid, 'SIGUSR1');
  const targets = await waitFor(
    'the inspector',
    async () => {
      const res = await fetch('http://127.0.0.1:9229/json/list').catch(() => undefined);
      return res?.ok ? ((await res.json()) as { webSocketDebuggerUrl: string }[]) : undefined;
    },
    10_000,
  );
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let nextId = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${method}`)), 60_000);
      const onMessage = (raw: Buffer) => {
        const reply = JSON.parse(raw.toString()) as {
          id?: number;
          result?: { result?: { value?: unknown } };
        };
        if (reply.id !== id) return;
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(reply);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage'); // a second pass frees what the first one's finalizers released
    const usage = await call('Runtime.evaluate', {
      expression: 'JSON.stringify({ pid: process.pid, ...process.memoryUsage() })',
      returnByValue: true,
    });
    const reading = JSON.parse(String(usage.result?.result?.value)) as { pid: number; heapUsed: number };
    // Port 9229 answered, but for this process? (Another one listening there would give its own figures.)
    if (reading.pid !== pid)
      throw new Error(`the inspector on 127.0.0.1:9229 is process ${reading.pid}'s, not ${pid}'s`);
    return { rss: procStat(pid).rss, heapUsed: reading.heapUsed };
  } finally {
    ws.close();
  }
}

async function connections(): Promise<BenchResults['connections']> {
  const sockets = quick ? 2000 : 10_000;
  console.log(`\n[connections] ${sockets} idle sockets on one server`);
  const out: NonNullable<BenchResults['connections']> = { sockets, systems: {} };
  for (const name of ['baseline', 'parley'] as const) {
    const sys =
      name === 'baseline' ? await startBaseline() : await startParley('parley', { gateways: 1, chats: 1 });
    const workers = [new Worker(), new Worker()];
    try {
      const pid = Object.values(sys.pids)[0]!;
      const users = await sys.users(sockets / 2, `${name}c`);
      await sleep(3000);
      const { rss: before, heapUsed: heapBefore } = await memoryAfterGc(pid);
      const t0 = now();
      const { connected, failed } = await connectUsers(workers, users, false);
      const connectMs = now() - t0;
      await sleep(3000);
      const { rss: after, heapUsed: heapAfter } = await memoryAfterGc(pid);
      out.systems[name] = {
        connected,
        failed,
        rssBeforeMiB: before / 2 ** 20,
        rssAfterMiB: after / 2 ** 20,
        bytesPerSocket: Math.round((after - before) / connected),
        heapBytesPerSocket: Math.round((heapAfter - heapBefore) / connected),
        connectSeconds: connectMs / 1000,
      };
      console.log(
        `  ${name}: ${connected} connected (${failed} failed) in ${(connectMs / 1000).toFixed(1)} s; RSS ${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MiB = ${out.systems[name].bytesPerSocket} B/socket; heap ${out.systems[name].heapBytesPerSocket} B/socket (after a full GC)`,
      );
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await sys.stop();
    }
  }
  return out;
}

async function reconnect(): Promise<BenchResults['reconnect']> {
  const clients = quick ? 1000 : 5000;
  console.log(`\n[reconnect] ${clients} clients, gateway restarted`);
  const port = await freePort();
  const sys = await startParley('parley', { gateways: 1, chats: 1, gatewayPort: port });
  const cluster = sys.cluster!;
  const workers = [new Worker(), new Worker()];
  try {
    const users = await sys.users(clients / 2, 'rc');
    const { connected } = await connectUsers(workers, users, true, true);
    const stoppedAt = now();
    await cluster.gateways[0]!.stop('SIGTERM');
    const downMs = now() - stoppedAt;
    cluster.gateways.pop();
    await cluster.startGateway({ PORT: String(port) });
    const readyAt = now();
    let rejoined = 0;
    let last = 0;
    let events: Record<string, number> = {};
    let complete = true;
    await waitFor(
      'every client to reconnect and re-join',
      async () => {
        const counts = await Promise.all(workers.map((w) => w.ask({ type: 'count' }, 'count')));
        const times = counts.flatMap((c) => c.reconnectedAt).filter((t) => t > 0);
        rejoined = times.length;
        last = Math.max(0, ...times);
        events = {};
        for (const [k, v] of counts.flatMap((c) => Object.entries(c.events)))
          events[k] = (events[k] ?? 0) + v;
        return rejoined >= connected;
      },
      RECONNECT_WAIT_MS,
      250,
    ).catch(() => {
      complete = false; // reported as "n of m", with the errors the clients saw
    });
    const result = {
      clients: connected,
      rejoined,
      complete,
      events,
      drainSeconds: downMs / 1000,
      secondsAfterReady: (last - readyAt) / 1000,
      secondsAfterStop: (last - stoppedAt) / 1000,
    };
    console.log(
      `  ${rejoined}/${connected} re-joined${complete ? '' : ` (gave up waiting after ${RECONNECT_WAIT_MS / 1000} s; client events: ${JSON.stringify(events)})`} ${result.secondsAfterReady.toFixed(1)} s after the new gateway was ready (${result.secondsAfterStop.toFixed(1)} s after SIGTERM)`,
    );
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await sys.stop();
  }
}

async function history(): Promise<BenchResults['history']> {
  const total = quick ? 200_000 : 1_000_000;
  console.log(`\n[history] one conversation with ${total} messages; one user with 1,000 conversations`);
  const sys = await startParley('parley', { gateways: 1, chats: 1 });
  const cluster = sys.cluster!;
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

async function machine(): Promise<BenchResults['machine']> {
  const cluster = await Cluster.start({ gateways: 0, chats: 0 });
  try {
    const [pg] = await cluster.db.sql<{ version: string }>('SELECT version()');
    const redis = (await import('ioredis')).Redis;
    const r = new redis(cluster.redisUrl);
    const info = await r.info('server');
    r.disconnect();
    return {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      postgres: pg!.version.split(' on ')[0]!,
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    };
  } finally {
    await cluster.stop();
  }
}

const started = now();
const results: BenchResults = {
  date: new Date().toISOString(),
  command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  quick,
  config: { rates, warmupMs, durationMs, jitWarmupMs, jitWarmupRate: JIT_WARMUP_RATE, pairs, loadWorkers: 2 },
  machine: await machine(),
  systems: {},
};
if (!skip.has('rates')) for (const s of systems) results.systems[s] = await rateSweep(s);
if (!skip.has('groups'))
  results.groups = await groupScenario(
    async () => {
      const sys = await startParley('parley', { gateways: parleyGateways, chats: parleyChats });
      return { cluster: sys.cluster!, pids: sys.pids, stop: () => sys.stop() };
    },
    {
      steps: groupSteps,
      sockets: groupSockets,
      warmupMs,
      durationMs,
      // Split between the group sizes, so that the scenario warms up as long as one system's sweep.
      jitWarmupMs: jitWarmupMs / new Set(groupSteps.map((s) => s.members)).size,
      gateways: parleyGateways,
      chats: parleyChats,
      jwtSecret: TEST_JWT_SECRET,
    },
  );
if (!skip.has('connections')) results.connections = await connections();
if (!skip.has('reconnect')) results.reconnect = await reconnect();
if (!skip.has('history')) results.history = await history();
results.seconds = Math.round((now() - started) / 1000);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const stamp = results.date.replace(/[:.]/g, '-');
writeFileSync(new URL(`./results/${stamp}.json`, import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
// Only a full run (every system, every section, the default rates and instances) rewrites latest.json and the docs.
const full =
  !quick &&
  systems.length === 3 &&
  ![...skip].some(Boolean) &&
  !argv.includes('--rates') &&
  !argv.includes('--instances') &&
  !argv.includes('--group-steps') &&
  !argv.includes('--group-sockets');
if (full) {
  writeFileSync(new URL('./results/latest.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  writeReport(results);
}
console.log(
  `\nDone in ${results.seconds} s: bench/results/${stamp}.json${full ? ', docs/benchmarks.md' : ' (not a full run: docs not rewritten)'}`,
);
process.exit(0);
