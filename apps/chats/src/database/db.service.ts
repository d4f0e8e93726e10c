import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import { CHATS_CONFIG, type ChatsConfig } from '../config/chats.config.js';
import { ReadReplica } from './read-replica.js';

/** A statement to run: its SQL, its parameters, and optionally a name under which pg prepares it once per connection. */
export interface Statement {
  text: string;
  values?: unknown[];
  name?: string;
}

export interface Querier {
  query<T>(statement: Statement): Promise<T[]>;
}

/**
 * The one door to Postgres for the data path: parameterized SQL on TypeORM's own pool, rows back as plain
 * objects. (TypeORM's `DataSource.query` returns `[rows, count]` for UPDATE/DELETE, and hydrating entities on the
 * hot path costs time for nothing.) Entities and migrations still define the schema.
 *
 * Through PgBouncer (DATABASE_POOLER=pgbouncer) statements lose their names: a named statement is prepared on one
 * server connection, and in transaction pooling the next Bind may reach another that never saw it (PgBouncer
 * 1.21+ with max_prepared_statements > 0 would carry them; 1.18, Debian 12's, does not). They then run as
 * node-postgres's unnamed statements, parsed each time, which any PgBouncer passes through.
 */
@Injectable()
export class Db implements Querier {
  private readonly pool: pg.Pool;
  private readonly named: boolean;

  constructor(
    dataSource: DataSource,
    @Inject(CHATS_CONFIG) config: ChatsConfig,
    private readonly replica: ReadReplica,
  ) {
    this.pool = (dataSource.driver as unknown as { master: pg.Pool }).master;
    this.named = config.databasePooler !== 'pgbouncer';
  }

  async query<T>(statement: Statement): Promise<T[]> {
    const result = await this.pool.query<T & pg.QueryResultRow>(this.prepared(statement));
    return result.rows;
  }

  /**
   * A read the replica may serve (DATABASE_READ_URL): only when it has replayed everything the primary had
   * committed as this read began (see ReadReplica), else the primary. Not for reads a client catches up with
   * after an acknowledgement by seq or version: those always read the primary, which is one round trip cheaper.
   */
  async queryReplica<T>(statement: Statement): Promise<T[]> {
    const pool = (await this.replica.poolForRead()) ?? this.pool;
    const result = await pool.query<T & pg.QueryResultRow>(this.prepared(statement));
    return result.rows;
  }

  private prepared(statement: Statement): Statement {
    if (this.named || statement.name === undefined) return statement;
    const { name: _name, ...unnamed } = statement;
    return unnamed;
  }

  /** Runs `work` in one transaction on one connection; rolls back when it throws. */
  async transaction<T>(work: (tx: Querier) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work({
        query: async <R>(statement: Statement) =>
          (await client.query<R & pg.QueryResultRow>(this.prepared(statement))).rows,
      });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
