import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { METRICS_REGISTRY } from '@parley/observability';
import pg from 'pg';
import { Counter, type Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { CHATS_CONFIG, type ChatsConfig } from '../config/chats.config.js';
import { poolOptions } from './data-source.js';

/** After a replica error, reads stay on the primary this long before the replica is tried again. */
const REPLICA_BACKOFF_MS = 5000;
const POLL_MS = 5;

/**
 * The streaming replica of DATABASE_READ_URL, and the rule that keeps its lag invisible: a read goes to the replica
 * only when the replica has replayed at least the primary's WAL position as it was when the read began (the
 * primary's `pg_current_wal_lsn()` ≥ the commit record of every write acknowledged before the read arrived,
 * `synchronous_commit` being on). Both positions are read at once; the read itself runs after the replica's
 * position was read, so its snapshot holds every such write. A replica that lags longer than DB_REPLICA_WAIT_MS,
 * is down, or is not a standby leaves the read to the primary. So no client is ever shown less than it was
 * acknowledged (its own sends, or another's that it was sent); the price is one extra round trip to each server.
 */
@Injectable()
export class ReadReplica implements OnModuleDestroy {
  private readonly logger = new Logger('ReadReplica');
  readonly pool?: pg.Pool;
  private readonly primary: pg.Pool;
  private readonly reads: Counter<'served_by'>;
  private unusableUntil = 0;

  constructor(
    @Inject(CHATS_CONFIG) private readonly config: ChatsConfig,
    dataSource: DataSource,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.primary = (dataSource.driver as unknown as { master: pg.Pool }).master;
    this.reads = new Counter({
      name: 'parley_db_replica_eligible_reads_total',
      help: 'Reads that may be served by DATABASE_READ_URL, by the server that served them (replica or primary)',
      labelNames: ['served_by'],
      registers: [registry],
    });
    if (config.databaseReadUrl) {
      this.pool = new pg.Pool({
        connectionString: config.databaseReadUrl,
        ...poolOptions(config.dbPoolSize, {
          statementTimeoutMs: config.dbStatementTimeoutMs,
          acquireTimeoutMs: config.dbAcquireTimeoutMs,
          idleTimeoutMs: config.dbIdleTimeoutMs,
          pooler: config.databasePooler,
          applicationName: 'parley-chats-replica',
        }),
      });
      this.pool.on('error', (err) => this.logger.warn(`Replica connection lost: ${err.message}`));
    }
  }

  /** The replica's pool when it may serve a read that begins now; undefined: read the primary. */
  async poolForRead(): Promise<pg.Pool | undefined> {
    const replica = this.pool;
    if (!replica || Date.now() < this.unusableUntil) return this.served(undefined);
    try {
      const [primaryLsn, replayed] = await Promise.all([
        lsnOf(this.primary, 'SELECT pg_current_wal_lsn()::text AS lsn'),
        lsnOf(replica, 'SELECT pg_last_wal_replay_lsn()::text AS lsn'),
      ]);
      if (primaryLsn === null) return this.served(undefined);
      if (replayed === null) return this.unusable('DATABASE_READ_URL is not a standby');
      const deadline = Date.now() + this.config.dbReplicaWaitMs;
      let position = replayed;
      while (position < primaryLsn && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        position = (await lsnOf(replica, 'SELECT pg_last_wal_replay_lsn()::text AS lsn')) ?? 0n;
      }
      return this.served(position >= primaryLsn ? replica : undefined);
    } catch (err) {
      return this.unusable((err as Error).message);
    }
  }

  private served(pool: pg.Pool | undefined): pg.Pool | undefined {
    this.reads.inc({ served_by: pool ? 'replica' : 'primary' });
    return pool;
  }

  private unusable(reason: string): undefined {
    if (Date.now() >= this.unusableUntil) {
      this.logger.warn(`Reads go to the primary for ${REPLICA_BACKOFF_MS} ms: ${reason}`);
    }
    this.unusableUntil = Date.now() + REPLICA_BACKOFF_MS;
    this.served(undefined);
    return undefined;
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool?.end();
  }
}

async function lsnOf(pool: pg.Pool, text: string): Promise<bigint | null> {
  const { rows } = await pool.query<{ lsn: string | null }>(text);
  return parseLsn(rows[0]?.lsn ?? null);
}

/** A pg_lsn's text (`16/B374D848`: high and low 32 bits in hex) as one comparable number. */
export function parseLsn(text: string | null): bigint | null {
  if (text === null) return null;
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}
