import pg from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { entities } from './entities/index.js';
import { migrations } from './migrations/index.js';

// bigint columns (ids, seq) come back as JS numbers: ids stay below 2^53 (validated at the edge), and numbers
// are what the wire contract sends.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface PoolLimits {
  /** Postgres cancels a statement running longer (statement_timeout, set when each connection opens). */
  statementTimeoutMs?: number;
  /** How long a query may wait for a free connection (pg-pool rejects it after that). */
  acquireTimeoutMs?: number;
  /** How long a connection may sit idle in the pool before it is closed. */
  idleTimeoutMs?: number;
}

/**
 * TypeORM options for Parley's database. The app's pool gets `limits`; migrations run on a pool without them (an
 * index build on a big table may rightly take minutes).
 */
export function dataSourceOptions(
  databaseUrl: string,
  poolSize = 20,
  limits: PoolLimits = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities,
    migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error', 'warn', 'migration'],
    extra: {
      max: poolSize,
      application_name: 'parley-chats',
      ...(limits.statementTimeoutMs ? { statement_timeout: limits.statementTimeoutMs } : {}),
      ...(limits.acquireTimeoutMs ? { connectionTimeoutMillis: limits.acquireTimeoutMs } : {}),
      ...(limits.idleTimeoutMs ? { idleTimeoutMillis: limits.idleTimeoutMs } : {}),
    },
  };
}

/** Creates the database named in `databaseUrl` when it does not exist (connecting to `postgres` to do so). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(name)) throw new Error(`Unsupported database name "${name}"`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } catch (err) {
      // Another instance created it at the same moment.
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
    return true;
  } finally {
    await client.end();
  }
}

/**
 * Runs pending migrations under a Postgres advisory lock, so instances starting together do not race. The lock
 * holds one pooled connection and the migrations run on another: the pool needs at least two.
 */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', ['parley:migrations']);
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await runner
      .query('SELECT pg_advisory_unlock(hashtext($1))', ['parley:migrations'])
      .catch(() => undefined);
    await runner.release();
  }
}

/** Applies pending migrations on a short-lived pool of its own (no statement timeout); returns their names. */
export async function migrateOnce(databaseUrl: string): Promise<string[]> {
  const dataSource = await new DataSource(dataSourceOptions(databaseUrl, 2)).initialize();
  try {
    return await migrate(dataSource);
  } finally {
    await dataSource.destroy();
  }
}
