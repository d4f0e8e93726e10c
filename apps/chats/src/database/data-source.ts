import pg from 'pg';
import { DataSource, MigrationExecutor, type DataSourceOptions, type QueryRunner } from 'typeorm';
import { entities } from './entities/index.js';
import { migrations } from './migrations/index.js';

// bigint columns (ids, seq) come back as JS numbers: ids stay below 2^53 (validated at the edge), and numbers
// are what the wire contract sends.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/**
 * What sits between the service and Postgres. `pgbouncer`: a PgBouncer in transaction pooling mode, where a client's
 * consecutive transactions may run on different server connections, so nothing may live in a session: no startup
 * parameters PgBouncer does not know (it refuses them), no named prepared statements (PgBouncer < 1.21 does not
 * carry them across server connections), no session-level locks or SETs.
 */
export type Pooler = 'none' | 'pgbouncer';

export interface PoolLimits {
  /**
   * Postgres cancels a statement running longer. Sent as the `statement_timeout` startup parameter when each
   * connection opens; through PgBouncer it cannot be (see `migrate`, which sets it on the role instead).
   */
  statementTimeoutMs?: number;
  /** How long a query may wait for a free connection (pg-pool rejects it after that). */
  acquireTimeoutMs?: number;
  /** How long a connection may sit idle in the pool before it is closed. */
  idleTimeoutMs?: number;
  pooler?: Pooler;
  /** application_name of the connections (the replica's pool has its own, to tell them apart). */
  applicationName?: string;
}

/** node-postgres pool options for `limits`. */
export function poolOptions(poolSize: number, limits: PoolLimits = {}): pg.PoolConfig {
  const startupTimeout = limits.statementTimeoutMs && limits.pooler !== 'pgbouncer';
  return {
    max: poolSize,
    application_name: limits.applicationName ?? 'parley-chats',
    ...(startupTimeout ? { statement_timeout: limits.statementTimeoutMs } : {}),
    ...(limits.acquireTimeoutMs ? { connectionTimeoutMillis: limits.acquireTimeoutMs } : {}),
    ...(limits.idleTimeoutMs ? { idleTimeoutMillis: limits.idleTimeoutMs } : {}),
  };
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
    extra: poolOptions(poolSize, limits),
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

export interface MigrateOptions {
  /**
   * Through PgBouncer the app's connections cannot carry statement_timeout, so the migration sets it as the
   * default of the connecting role in this database (`ALTER ROLE ... IN DATABASE ... SET`): every server
   * connection PgBouncer opens from then on starts with it, and a streaming replica gets it with the catalogs.
   * When the value changes, the role's idle connections that predate it are closed after the commit; those busy
   * at that instant keep the old value until PgBouncer recycles them (server_lifetime, or RECONNECT on its admin
   * console): see docs/deploy.md.
   */
  roleStatementTimeoutMs?: number;
}

const MIGRATION_LOCK = 'parley:migrations';

/**
 * Runs pending migrations in one transaction that first takes a transaction-level advisory lock, so instances
 * starting together do not race: the second waits for the first to commit, then finds nothing pending. Lock and
 * migrations share one connection and end with the transaction, which is what PgBouncer's transaction pooling
 * keeps together (a session-level `pg_advisory_lock` would be held by whichever server connection PgBouncer
 * happened to pick, and the unlock might run on another). All migrations commit together or not at all; a
 * migration that cannot run in a transaction (`transaction = false`, e.g. CREATE INDEX CONCURRENTLY) is refused
 * by TypeORM in this mode and needs its own step.
 */
export async function migrate(dataSource: DataSource, options: MigrateOptions = {}): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    let timeoutChanged = false;
    await runner.startTransaction();
    let ran: string[];
    try {
      // Exempt from the role's statement_timeout (an index build on a big table may rightly take minutes).
      await runner.query('SET LOCAL statement_timeout = 0');
      await runner.query('SELECT pg_advisory_xact_lock(hashtext($1))', [MIGRATION_LOCK]);
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'all';
      ran = (await executor.executePendingMigrations()).map((m) => m.name);
      if (options.roleStatementTimeoutMs !== undefined) {
        timeoutChanged = await setRoleStatementTimeout(runner, options.roleStatementTimeoutMs);
      }
      await runner.commitTransaction();
    } catch (err) {
      await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    }
    if (timeoutChanged) {
      // Server connections opened before the commit have the old value. The idle ones are closed, so PgBouncer
      // opens new ones with the new value; those busy at this instant keep it until server_lifetime (or RECONNECT).
      await runner.query(
        `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid()
           AND state = 'idle' AND backend_start < now()`,
      );
    }
    return ran;
  } finally {
    await runner.release();
  }
}

/** Sets the role's statement_timeout in this database; true when it was another value. */
async function setRoleStatementTimeout(runner: QueryRunner, timeoutMs: number): Promise<boolean> {
  const value = `${Math.trunc(timeoutMs)}ms`;
  const [current] = (await runner.query(
    `SELECT s.setconfig FROM pg_db_role_setting s
     WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND s.setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
  )) as { setconfig: string[] | null }[];
  if (current?.setconfig?.includes(`statement_timeout=${value}`)) {
    // This connection (and those of instances that waited for the lock) may predate the setting: give it the value.
    await runner.query(`SET statement_timeout = '${value}'`);
    return false;
  }
  await runner.query(
    `DO $$ BEGIN EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET statement_timeout = %L',
       current_database(), '${value}'); END $$`,
  );
  await runner.query(`SET statement_timeout = '${value}'`);
  return true;
}

/** Applies pending migrations on a short-lived connection of its own (no statement timeout); returns their names. */
export async function migrateOnce(databaseUrl: string, options: MigrateOptions = {}): Promise<string[]> {
  const dataSource = await new DataSource(dataSourceOptions(databaseUrl, 1)).initialize();
  try {
    return await migrate(dataSource, options);
  } finally {
    await dataSource.destroy();
  }
}

/** The MigrateOptions a chats configuration asks for. */
export function migrateOptions(config: {
  databasePooler: Pooler;
  dbStatementTimeoutMs: number;
}): MigrateOptions {
  return config.databasePooler === 'pgbouncer' ? { roleStatementTimeoutMs: config.dbStatementTimeoutMs } : {};
}
