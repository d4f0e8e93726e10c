// Redis and Postgres work per message: counters read at the start and at the end of a measured window, their
// difference divided by the messages sent. What docs/scaling.md sizes Redis shards and Postgres from.
//   Redis: `INFO commandstats` (calls and execution time per command) and `INFO stats` (network bytes). The server
//   is shared by every system of a run (the others idle during this window) and by whatever else uses it, so each
//   figure is the whole server's; `commandsPerMessageAboveIdle` subtracts the rate measured with everything idle.
//   Postgres: `pg_stat_database` of the system's own database (exact to it: commits, rows, blocks), and
//   `pg_stat_wal`, which is the whole server's (WAL bytes, records, fsyncs). Postgres 15 publishes a busy
//   backend's counters at most once a second, so both readings lag by up to a second of steady load: the
//   difference spans the window, shifted, not cut short.
import { Redis } from 'ioredis';
import pg from 'pg';
import { TEST_PG_URL } from '../test/support/postgres.js';
import { TEST_REDIS_URL } from '../test/support/redis.js';

/** One reading of the counters. */
export interface BackendSnapshot {
  at: number;
  redis: {
    /** Calls and µs of execution per command, the bench's own INFO left out. */
    calls: Record<string, number>;
    usec: number;
    netIn: number;
    netOut: number;
  };
  /** Absent when the system has no database (the baseline). */
  database?: Record<(typeof DB_COLUMNS)[number], number>;
  wal: Record<(typeof WAL_COLUMNS)[number], number>;
}

/** What a window cost Redis and Postgres, per message sent. */
export interface BackendWork {
  redis: {
    commandsPerMessage: number;
    /** Less what the server ran with every system idle over as long (when that was measured). */
    commandsPerMessageAboveIdle?: number;
    /** Per command (lower case), calls per message. */
    byCommand: Record<string, number>;
    /** Redis's own time executing commands (commandstats usec), µs per message: its main thread's work. */
    usecPerMessage: number;
    netInBytesPerMessage: number;
    netOutBytesPerMessage: number;
  };
  postgres?: {
    commitsPerMessage: number;
    rollbacksPerMessage: number;
    rowsInsertedPerMessage: number;
    rowsUpdatedPerMessage: number;
    rowsDeletedPerMessage: number;
    rowsFetchedPerMessage: number;
    blocksReadPerMessage: number;
    blocksHitPerMessage: number;
    /** The whole server's WAL (pg_stat_wal), per message of this system. */
    walBytesPerMessage: number;
    walRecordsPerMessage: number;
    /** WAL fsyncs per message: the disk's synchronous writes (one serves every commit it covers). */
    walSyncsPerMessage: number;
  };
}

const DB_COLUMNS = [
  'xact_commit',
  'xact_rollback',
  'tup_inserted',
  'tup_updated',
  'tup_deleted',
  'tup_fetched',
  'blks_read',
  'blks_hit',
] as const;
const WAL_COLUMNS = ['wal_records', 'wal_bytes', 'wal_sync'] as const;

let redis: Redis | undefined;
let admin: pg.Client | undefined;

/**
 * Opens the connections the readings use: one to Redis and one to Postgres's admin database (whose backends no
 * tracker counts). Call it before any system starts: a full run's systems use up `max_connections` (the 1x1
 * systems' pools are refused some), and a reading must not be the one refused.
 */
export async function openBackendReadings(): Promise<void> {
  redis ??= new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  if (admin) return;
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  client.on('error', () => (admin = undefined));
  await client.connect();
  admin = client;
}

export async function closeBackendReadings(): Promise<void> {
  await admin?.end().catch(() => undefined);
  redis?.disconnect();
  admin = redis = undefined;
}

/** The counters now (Redis's commandstats and traffic, the system database's and the WAL's Postgres counters). */
export async function backendSnapshot(database?: string): Promise<BackendSnapshot> {
  await openBackendReadings();
  const [commandstats, stats, db, wal] = await Promise.all([
    redis!.info('commandstats'),
    redis!.info('stats'),
    database
      ? admin!.query(`SELECT ${DB_COLUMNS.join(', ')} FROM pg_stat_database WHERE datname = $1`, [database])
      : undefined,
    admin!.query(`SELECT ${WAL_COLUMNS.join(', ')} FROM pg_stat_wal`),
  ]);
  const calls: Record<string, number> = {};
  let usec = 0;
  for (const m of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === 'info') continue; // the bench's own readings
    calls[m[1]!] = Number(m[2]);
    usec += Number(m[3]);
  }
  const stat = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(stats)?.[1] ?? NaN);
  const numbers = <K extends string>(row: Record<string, unknown>, cols: readonly K[]) =>
    Object.fromEntries(cols.map((c) => [c, Number(row[c])])) as Record<K, number>;
  return {
    at: performance.now(),
    redis: { calls, usec, netIn: stat('total_net_input_bytes'), netOut: stat('total_net_output_bytes') },
    database: db?.rows[0] ? numbers(db.rows[0] as Record<string, unknown>, DB_COLUMNS) : undefined,
    wal: numbers(wal.rows[0] as Record<string, unknown>, WAL_COLUMNS),
  };
}

/** Redis commands per second between two readings: what the server runs with no message sent. */
export function redisCommandsPerSecond(a: BackendSnapshot, b: BackendSnapshot): number {
  return (totalCalls(b) - totalCalls(a)) / ((b.at - a.at) / 1000);
}

const totalCalls = (s: BackendSnapshot) => Object.values(s.redis.calls).reduce((x, y) => x + y, 0);
const round = (x: number) => Math.round(x * 1000) / 1000;
const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(1));

/** The work between two readings per message sent; `idlePerSecond`: the Redis commands/s measured idle. */
export function backendWork(
  a: BackendSnapshot,
  b: BackendSnapshot,
  messages: number,
  idlePerSecond?: number,
): BackendWork | undefined {
  if (!(messages > 0)) return undefined;
  const per = (x: number) => round(x / messages);
  const commands = totalCalls(b) - totalCalls(a);
  const byCommand: Record<string, number> = {};
  for (const [cmd, n] of Object.entries(b.redis.calls)) {
    const d = n - (a.redis.calls[cmd] ?? 0);
    if (d > 0) byCommand[cmd] = per(d);
  }
  const seconds = (b.at - a.at) / 1000;
  const work: BackendWork = {
    redis: {
      commandsPerMessage: per(commands),
      ...(idlePerSecond === undefined
        ? {}
        : { commandsPerMessageAboveIdle: per(commands - idlePerSecond * seconds) }),
      byCommand,
      usecPerMessage: per(b.redis.usec - a.redis.usec),
      netInBytesPerMessage: per(b.redis.netIn - a.redis.netIn),
      netOutBytesPerMessage: per(b.redis.netOut - a.redis.netOut),
    },
  };
  if (a.database && b.database) {
    const d = (c: (typeof DB_COLUMNS)[number]) => per(b.database![c] - a.database![c]);
    const w = (c: (typeof WAL_COLUMNS)[number]) => per(b.wal[c] - a.wal[c]);
    work.postgres = {
      commitsPerMessage: d('xact_commit'),
      rollbacksPerMessage: d('xact_rollback'),
      rowsInsertedPerMessage: d('tup_inserted'),
      rowsUpdatedPerMessage: d('tup_updated'),
      rowsDeletedPerMessage: d('tup_deleted'),
      rowsFetchedPerMessage: d('tup_fetched'),
      blocksReadPerMessage: d('blks_read'),
      blocksHitPerMessage: d('blks_hit'),
      walBytesPerMessage: w('wal_bytes'),
      walRecordsPerMessage: w('wal_records'),
      walSyncsPerMessage: w('wal_sync'),
    };
  }
  return work;
}

/** Redis commands and Postgres commits, rows and WAL per message, for the progress lines. */
export function backendLine(r: { backends?: BackendWork }): string {
  const b = r.backends;
  if (!b) return 'backends –';
  const idle = b.redis.commandsPerMessageAboveIdle;
  const p = b.postgres;
  return (
    `redis ${f1(b.redis.commandsPerMessage)} cmd/msg${idle === undefined ? '' : ` (${f1(idle)} above idle)`}` +
    (p
      ? `, pg ${p.commitsPerMessage.toFixed(2)} commits ${f1(p.rowsInsertedPerMessage)} ins ${f1(p.rowsUpdatedPerMessage)} upd ` +
        `${p.walSyncsPerMessage.toFixed(2)} fsyncs ${Math.round(p.walBytesPerMessage)} B WAL /msg`
      : '')
  );
}

/**
 * The runs of one step with the same commands in each (0 where a run had none), so that their median
 * (latency.ts's medianOf, key by key) has every command.
 */
export function alignCommands<T extends { backends?: BackendWork }>(runs: T[]): T[] {
  const commands = new Set(runs.flatMap((r) => Object.keys(r.backends?.redis.byCommand ?? {})));
  return runs.map((r) =>
    r.backends
      ? {
          ...r,
          backends: {
            ...r.backends,
            redis: {
              ...r.backends.redis,
              byCommand: Object.fromEntries(
                [...commands].sort().map((c) => [c, r.backends!.redis.byCommand[c] ?? 0]),
              ),
            },
          },
        }
      : r,
  );
}

/** Closes the Redis reader (the bench exits anyway; a script that goes on calls this). */
export function closeBackendReaders(): void {
  redis?.disconnect();
  redis = undefined;
}
