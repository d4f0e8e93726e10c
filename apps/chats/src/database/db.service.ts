import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { DataSource } from 'typeorm';

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
 */
@Injectable()
export class Db implements Querier {
  private readonly pool: pg.Pool;

  constructor(dataSource: DataSource) {
    this.pool = (dataSource.driver as unknown as { master: pg.Pool }).master;
  }

  async query<T>(statement: Statement): Promise<T[]> {
    const result = await this.pool.query<T & pg.QueryResultRow>(statement);
    return result.rows;
  }

  /** Runs `work` in one transaction on one connection; rolls back when it throws. */
  async transaction<T>(work: (tx: Querier) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work({
        query: async <R>(statement: Statement) => (await client.query<R & pg.QueryResultRow>(statement)).rows,
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
