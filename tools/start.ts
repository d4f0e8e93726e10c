// `npm start`: builds if needed, checks Postgres and Redis, migrates, and runs a local cluster of 2 chats services
// and 2 gateways (ports 3101-3102 and 3001-3002) until Ctrl-C. Environment variables pass through to the apps.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { AppProcess, bundleFile, REPO_ROOT, runCommand, type AppName } from './lib/app-process.js';

const env: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
);
const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/parley';
const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const GATEWAYS = Number(env.PARLEY_GATEWAYS ?? 2);
const CHATS = Number(env.PARLEY_CHATS ?? 2);
const GATEWAY_PORT = Number(env.PARLEY_GATEWAY_PORT ?? 3001);
const CHATS_PORT = Number(env.PARLEY_CHATS_PORT ?? 3101);
const colors = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m', '\x1b[31m'];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function buildIfNeeded(): void {
  const bundles = (['gateway', 'chats'] as const).map((app) => bundleFile(app));
  const sources = Math.max(newestMtime(join(REPO_ROOT, 'apps')), newestMtime(join(REPO_ROOT, 'libs')));
  if (bundles.every((b) => existsSync(b) && statSync(b).mtimeMs >= sources)) return;
  console.log('Building (npm run build)…');
  const result = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

async function checkPostgres(): Promise<void> {
  const url = new URL(DATABASE_URL);
  const admin = new URL(DATABASE_URL);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    fail(
      `Postgres is not reachable at ${url.hostname}:${url.port || 5432} as "${url.username || 'postgres'}" ` +
        `(${(err as Error).message}).`,
      [
        'Start it:  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
        'or set DATABASE_URL to a Postgres 15+ server (postgres://user@host:5432/parley).',
      ],
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await redis.connect();
    const info = await redis.info('server');
    const version = /redis_version:(\d+)/.exec(info)?.[1];
    if (version && Number(version) < 7) {
      fail(`Redis at ${REDIS_URL} is version ${version}; Parley needs Redis 7+ (sharded pub/sub).`, []);
    }
  } catch (err) {
    fail(`Redis is not reachable at ${REDIS_URL} (${(cause ?? (err as Error)).message}).`, [
      'Start it:  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no',
      'or set REDIS_URL to a Redis 7+ server.',
    ]);
  } finally {
    redis.disconnect();
  }
}

function fail(problem: string, hints: string[]): never {
  console.error(`\n✗ ${problem}`);
  for (const hint of hints) console.error(`  ${hint}`);
  process.exit(1);
}

const LEVEL_COLORS: Record<string, string> = {
  error: '\x1b[31m',
  fatal: '\x1b[31m',
  warn: '\x1b[33m',
  debug: '\x1b[90m',
};
const QUIET_FIELDS = new Set(['level', 'time', 'msg', 'app', 'instance', 'context', 'pid', 'hostname']);

/** The apps log JSON (for machines); here each line is shown as `time level [context] message key=value…`. */
function humanize(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
  const level = text(entry.level) || 'info';
  const time = text(entry.time).slice(11, 23);
  const context = entry.context ? `[${text(entry.context)}] ` : '';
  const extra = Object.entries(entry)
    .filter(([k]) => !QUIET_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${LEVEL_COLORS[level] ?? ''}${level.padEnd(5)}\x1b[0m ${context}${text(entry.msg)} \x1b[90m${extra}\x1b[0m`;
}

function printer(name: string, color: string): (chunk: string) => void {
  let partial = '';
  return (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line) process.stdout.write(`${color}[${name}]\x1b[0m ${humanize(line)}\n`);
  };
}

async function main(): Promise<void> {
  buildIfNeeded();
  await checkPostgres();
  await checkRedis();
  const appEnv = { LOG_LEVEL: 'info', ...env, DATABASE_URL, REDIS_URL };
  const migrated = await runCommand('chats', ['migrate'], appEnv);
  process.stdout.write(migrated.output);
  if (migrated.code !== 0) fail('Migrations failed (output above).', []);

  const running: AppProcess[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    await Promise.all(running.map((p) => p.stop('SIGTERM', 25_000)));
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const start = async (app: AppName, index: number, port: number) => {
    const name = `${app}-${index + 1}`;
    const color = colors[running.length % colors.length]!;
    const proc = await AppProcess.start(
      app,
      name,
      { ...appEnv, PORT: String(port) },
      { onOutput: printer(name, color) },
    );
    running.push(proc);
    void proc.exit.then((code) => {
      if (stopping) return;
      console.error(`\n✗ ${name} exited unexpectedly (code ${code}); stopping the cluster.`);
      void stopAll(1);
    });
    return proc;
  };
  try {
    for (let i = 0; i < CHATS; i++) await start('chats', i, CHATS_PORT + i);
    for (let i = 0; i < GATEWAYS; i++) await start('gateway', i, GATEWAY_PORT + i);
  } catch (err) {
    console.error(`\n✗ ${(err as Error).message}`);
    await stopAll(1);
    return;
  }

  const gateways = running.filter((p) => p.app === 'gateway');
  const chats = running.filter((p) => p.app === 'chats');
  const db = new URL(DATABASE_URL);
  console.log(`
Parley is up: ${gateways.length} gateways, ${chats.length} chats services
  Postgres ${db.hostname}:${db.port || 5432}${db.pathname}   Redis ${REDIS_URL} (prefix ${env.REDIS_PREFIX ?? 'parley:'})
${gateways.map((g) => `  ${g.name}  ${g.url}/api/docs  (Swagger)   ${g.url}/metrics`).join('\n')}
${chats.map((c) => `  ${c.name}    ${c.url}/health/ready   ${c.url}/metrics`).join('\n')}
  Socket.IO: io('${gateways[0]?.url}/chat', { auth: { token } })
Press Ctrl-C to stop.
`);
}

await main();
