// Seed 003's chat design, written the way a team would write it from the seed's API document, for `npm run bench`
// to measure next to Parley. Plain, idiomatic NestJS, neither a strawman nor tuned:
//
//   clients ─Socket.IO /chat─▶ gateway ×N ──Nest Redis transport (pub/sub)──▶ chats ×M ──TypeORM──▶ Postgres
//                              (WebSocketGateway,   ClientProxy.send +           (@MessagePattern,
//                               classic Redis        firstValueFrom               findOne + save()
//                               adapter)                                          per message)
//
// - gateway.ts: `@nestjs/platform-socket.io` WebSocketGateway on /chat behind the standard Nest recipe's IoAdapter
//   with `@socket.io/redis-adapter`'s classic `createAdapter(pub, sub)` (every gateway gets every broadcast). A
//   socket names its user by `query.userId` (or `auth.userId`) and joins `user:{id}`; join-conversation asks the
//   chats service for the conversation, checks the user is in it and joins `conversation:{id}`; send-message is
//   validated by class-validator through Nest's ValidationPipe, sent to the chats service, then `message-sent` goes
//   to the sender and `receive-message` to the room but the sender (`socket.to(room).emit`); typing and
//   leave-conversation as in the seed. GET /health for readiness.
// - chats.ts: a Nest microservice on the built-in Redis transport (`Transport.REDIS`); TypeORM entities User,
//   Conversation, Message with `synchronize: true` on a database of its own; each message is one `findOne` of its
//   conversation (is the sender a participant?) and one `repository.save()`: no batching, no caching.
//
// Like the seed, on purpose: no batching, a save() per message, Nest's built-in Redis transport, the classic adapter,
// userId trusted from the handshake and payloads (the seed has no auth). Because that transport is pub/sub, every
// chats instance receives every request: with `chats: 2` each message is stored twice and each gateway hears every
// reply (the first one answers the client). That is the design's own behaviour, kept.
// The one deviation: the send-message handler's return value, `{ success: true, message }`, doubles as the Socket.IO
// ack (the bench's client waits on emitWithAck); the seed only emits `message-sent`, which is still emitted.
//
// Processes run as `node --import tsx bench/seed003/<gateway|chats>.ts`. esbuild emits no decorator metadata, so
// injection is by explicit token (@Inject / @InjectRepository), TypeORM column types are spelled out and the
// ValidationPipe is given its DTO (`expectedType`). Runs side by side do not collide: the database is new per run,
// and the Nest RPC patterns and the adapter's channels carry a per-run namespace (SEED003_NS), since Redis pub/sub
// ignores the db index. Nothing is stored in Redis; stop() still deletes any key under the namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { BenchUser } from '../protocol.js';

export interface Seed003System {
  /** Gateway URLs for the two members of each pair (gateway 0 and 1 when there are two; the same one otherwise). */
  urls: [string, string];
  pids: Record<string, number>;
  /** The Postgres database (the bench attributes backends by it). */
  database: string;
  /** Creates `pairs` conversations of 2 fresh users in SQL: member a on urls[0], b on urls[1]. */
  users(pairs: number, tag: string): Promise<BenchUser[]>;
  /** Kills the processes, drops the database, deletes its Redis keys if any. */
  stop(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** SEED003_LOG=1 copies the processes' output to this one's. */
const LOG = process.env.SEED003_LOG === '1';

interface Proc {
  name: string;
  proc: ChildProcess;
  /** Set by stop(): what the process writes from then on is not shown (see spawnReady). */
  stopping: boolean;
}

function databaseUrl(database: string): string {
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts one process and resolves once it printed `ready` (rejects if it exits first or takes over `ms`). Its
 * stderr (Nest's errors) is shown until stop(): a chats service stopped with requests still queued logs a failed
 * reply for each (with several chats services, the slower one is still storing its duplicates), which is noise.
 */
function spawnReady(name: string, file: string, env: Record<string, string>, ready: string, ms = 60_000) {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url))], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const self: Proc = { name, proc, stopping: false };
  let out = ''; // what it wrote before it was ready, for the error if it never is
  let done = false;
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    if (!done) out += chunk;
    if (LOG || !self.stopping) process.stderr.write(chunk.replace(/^(?=.)/gm, `[${name}] `));
  });
  return new Promise<Proc>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} not ready within ${ms} ms`)), ms);
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${err.message}\n${out.slice(-2000)}`));
    };
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      if (LOG) process.stdout.write(chunk.replace(/^(?=.)/gm, `[${name}] `));
      if (done) return;
      out += chunk;
      if (out.includes(ready)) {
        done = true;
        clearTimeout(timer);
        out = '';
        resolve(self);
      }
    });
    proc.once('exit', (code, signal) => {
      if (done && !self.stopping)
        process.stderr.write(`[${name}] exited (${signal ?? code}) while running\n`);
      fail(new Error(`${name} exited (${signal ?? code}) before it was ready`));
    });
  });
}

async function waitHealthy(url: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await fetch(`${url}/health`).catch(() => undefined);
    if (res?.ok) return;
    if (Date.now() > deadline) throw new Error(`${url}/health did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function kill(p: Proc, ms = 10_000): Promise<void> {
  const { proc } = p;
  p.stopping = true;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
}

export async function startSeed003(opts: { gateways: number; chats: number }): Promise<Seed003System> {
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const database = `seed003_${id}`;
  const ns = `seed003:${id}`;
  const env = { DATABASE_URL: databaseUrl(database), REDIS_URL, SEED003_NS: ns };

  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`).finally(() => admin.end());
  const pool = new pg.Pool({ connectionString: databaseUrl(database), max: 2 });

  const gateways: Proc[] = [];
  const chats: Proc[] = [];
  const stop = async () => {
    // Arrays with holes when a start failed: kill what is there.
    await Promise.all(gateways.filter(Boolean).map((p) => kill(p)));
    await Promise.all(chats.filter(Boolean).map((p) => kill(p)));
    await pool.end().catch(() => undefined);
    const drop = new pg.Client({ connectionString: PG_URL });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).finally(() => drop.end());
    const redis = new Redis(REDIS_URL);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${ns}*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  };

  try {
    // The first chats service's `synchronize` creates the tables; then the other ones and the gateways, together.
    const startChats = async (i: number) => {
      chats[i] = await spawnReady(`seed-chats-${i + 1}`, './chats.ts', env, 'seed003 chats listening');
    };
    await startChats(0);
    const urls: string[] = [];
    // allSettled: when one fails, the others are ready (or dead) before stop() looks for them.
    const started = await Promise.allSettled([
      ...Array.from({ length: opts.chats - 1 }, (_, i) => startChats(i + 1)),
      ...Array.from({ length: opts.gateways }, async (_, i) => {
        const port = await freePort();
        const name = `seed-gateway-${i + 1}`;
        gateways[i] = await spawnReady(
          name,
          './gateway.ts',
          { ...env, PORT: String(port) },
          'seed003 gateway listening',
        );
        urls[i] = `http://127.0.0.1:${port}`;
        await waitHealthy(urls[i]);
      }),
    ]);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const pair: [string, string] = [urls[0]!, urls[1] ?? urls[0]!];
    let calls = 0;
    const pids: Record<string, number> = {};
    for (const p of [...gateways, ...chats]) pids[p.name] = p.proc.pid!;
    return {
      urls: pair,
      pids,
      database,
      async users(pairs: number, tag: string): Promise<BenchUser[]> {
        const { rows: users } = await pool.query<{ id: number; n: number }>(
          `INSERT INTO users (username)
             SELECT $1 || '-' || g FROM generate_series(1, $2::int) g
           RETURNING id, split_part(username, '-', -1)::int AS n`,
          [`${tag}-${id}-${++calls}`, pairs * 2],
        );
        users.sort((x, y) => x.n - y.n);
        const a = users.filter((_, i) => i % 2 === 0).map((u) => u.id);
        const b = users.filter((_, i) => i % 2 === 1).map((u) => u.id);
        const { rows: convs } = await pool.query<{ id: number; sender_id: number; receiver_id: number }>(
          `INSERT INTO conversations (sender_id, receiver_id)
             SELECT * FROM unnest($1::int[], $2::int[])
           RETURNING id, sender_id, receiver_id`,
          [a, b],
        );
        return convs.flatMap((c) => [
          { id: c.sender_id, token: '', conversationId: c.id, url: pair[0], sends: true },
          { id: c.receiver_id, token: '', conversationId: c.id, url: pair[1], sends: true },
        ]);
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
