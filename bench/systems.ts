// The systems `npm run bench` compares, as a table: adding one (an all-in-one Parley, say) is one entry with its
// instance counts and a start function. Each start returns a RunningSystem: the URLs of its two gateways (member a
// of a conversation on the first, b on the second), the pids to account CPU to, its database, and its users.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Cluster, TEST_JWT_SECRET } from '../test/support/cluster.js';
import { REPO_ROOT } from '../tools/lib/app-process.js';
import { freePort } from '../tools/lib/ports.js';
import { waitFor } from '../tools/lib/wait.js';
import { createPairs, pairUsers } from './lib.js';
import type { BenchUser } from './protocol.js';

export interface RunningSystem {
  /** Where the two members of each pair connect (different instances where there are several). */
  urls: [string, string];
  /** The system's own processes by name (`gateway-3`, `chats-1`…): each is tracked, and its kind read from it. */
  pids: Record<string, number>;
  /** Its Postgres database, whose backends count as its "postgres" (none for the baseline). */
  database?: string;
  /** `pairs` conversations of 2 fresh users, every one sending, a on urls[0] and b on urls[1]. */
  users(pairs: number, tag: string): Promise<BenchUser[]>;
  stop(): Promise<void>;
}

export interface SystemDef {
  name: string;
  /** What it is, for the report. */
  label: string;
  gateways: number;
  chats: number;
  color: string;
  /** Past the rate list it keeps doubling its rate until it fails (the ceiling: the baseline). */
  extend?: boolean;
  /** Part of the long run at one rate that counts stalls (the 60 s at 200 msg/s). */
  stallRun?: boolean;
  start(def: SystemDef): Promise<RunningSystem>;
}

export const SYSTEMS: SystemDef[] = [
  {
    name: 'baseline',
    label: 'raw Socket.IO in one process, no storage, no auth (bench/baseline-server.ts): the ceiling',
    gateways: 1,
    chats: 0,
    color: '#888888',
    extend: true,
    stallRun: true,
    start: () => startBaseline(),
  },
  {
    name: 'seed003',
    label:
      "seed 003's design as a team would write it (bench/seed003): Nest's Redis transport, save() per message",
    gateways: 2,
    chats: 2,
    color: '#d95f02',
    stallRun: true,
    start: (d) => startSeed003(d),
  },
  {
    name: 'seed003-1x1',
    label: 'the seed-003 design, 1 gateway + 1 chats service',
    gateways: 1,
    chats: 1,
    color: '#fdae6b',
    start: (d) => startSeed003(d),
  },
  {
    name: 'parley',
    label: 'Parley as shipped: 2 gateways + 2 chats services, Redis Streams RPC',
    gateways: 2,
    chats: 2,
    color: '#1b9e77',
    stallRun: true,
    start: (d) => startParley(d),
  },
  {
    name: 'parley-ws',
    label:
      "Parley 2 + 2 with every client on seed 004's plain WebSocket (/compat/004): the compatibility path",
    gateways: 2,
    chats: 2,
    color: '#7570b3',
    start: (d) => startParley({ ...d, transport: 'seed004' }),
  },
  {
    name: 'parley-1x1',
    label: 'Parley, 1 gateway + 1 chats service',
    gateways: 1,
    chats: 1,
    color: '#66c2a5',
    start: (d) => startParley(d),
  },
];

/** Rate limits are raised: the benchmark measures delivery, not the limiter (whose Redis call is still made). */
export const BENCH_ENV = {
  RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
  RATE_LIMIT_MESSAGES_BURST: '100000',
  // The history scenario times 1,500 page reads per loop from one user.
  RATE_LIMIT_HISTORY_PER_SECOND: '100000',
  RATE_LIMIT_HISTORY_BURST: '100000',
  LOG_LEVEL: 'warn',
  // As compose and k8s ship it. At the default 20, every Parley of the sweep fills its pools as its users join, and
  // together they pass the machine's max_connections (100): the last system to start was refused.
  DB_POOL_SIZE: '10',
};

export async function startBaseline(): Promise<RunningSystem> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./baseline-server.ts', import.meta.url)), String(port)],
    { stdio: ['ignore', 'ignore', 'inherit'], cwd: REPO_ROOT },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'the baseline server',
    async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.ok,
    30_000,
  );
  let nextUser = 1;
  return {
    urls: [url, url],
    pids: { baseline: proc.pid! },
    async users(n: number) {
      const users: BenchUser[] = [];
      for (let i = 0; i < n; i++) {
        const conversationId = nextUser; // unique per pair, as the ids are
        for (let k = 0; k < 2; k++)
          users.push({ id: nextUser++, token: '', conversationId, url, sends: true });
      }
      return users;
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

/** Parley from the built bundles: its own database and Redis prefix (test/support/cluster.ts). */
export async function startParley(opts: {
  gateways: number;
  chats: number;
  gatewayPort?: number;
  /** How its users' clients connect (Socket.IO unless said). */
  transport?: BenchUser['transport'];
  /** More environment for every instance. */
  env?: Record<string, string>;
}): Promise<RunningSystem & { cluster: Cluster }> {
  const cluster = await Cluster.start({ gateways: 0, chats: opts.chats, env: { ...BENCH_ENV, ...opts.env } });
  for (let i = 0; i < opts.gateways; i++)
    await cluster.startGateway(opts.gatewayPort && i === 0 ? { PORT: String(opts.gatewayPort) } : {});
  const pids: Record<string, number> = {};
  for (const p of [...cluster.gateways, ...cluster.chats]) pids[p.name] = p.proc.pid!;
  const urls: [string, string] = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
  return {
    cluster,
    urls,
    pids,
    database: cluster.db.name,
    async users(n: number, tag: string) {
      return pairUsers(await createPairs(cluster.db, n, tag), urls, TEST_JWT_SECRET, opts.transport);
    },
    stop: () => cluster.stop(),
  };
}

/** bench/seed003/start.ts's export (written beside this bench, so loaded by path: it may not be there yet). */
type StartSeed003 = (opts: { gateways: number; chats: number }) => Promise<{
  urls: [string, string];
  pids: Record<string, number>;
  database: string;
  users(pairs: number, tag: string): Promise<BenchUser[]>;
  stop(): Promise<void>;
}>;

async function startSeed003(opts: { gateways: number; chats: number }): Promise<RunningSystem> {
  const file = new URL('./seed003/start.ts', import.meta.url);
  if (!existsSync(file)) throw new Error('bench/seed003/start.ts is missing');
  const { startSeed003: start } = (await import(file.href)) as { startSeed003: StartSeed003 };
  return start({ gateways: opts.gateways, chats: opts.chats });
}
