import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/** A database of its own for one test run: created empty; `drop()` removes it even with connections open. */
export class TestDatabase {
  readonly name = `parley_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  readonly url: string;
  private client?: pg.Client;

  constructor(adminUrl = TEST_PG_URL) {
    const url = new URL(adminUrl);
    url.pathname = `/${this.name}`;
    this.url = url.toString();
  }

  async create(): Promise<this> {
    await withAdmin((admin) => admin.query(`CREATE DATABASE "${this.name}"`));
    return this;
  }

  /** A connection to this database, for assertions on what is stored. */
  async sql<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    if (!this.client) {
      const client = new pg.Client({ connectionString: this.url });
      client.on('error', () => (this.client = undefined)); // the server went away (a fault test): reconnect next time
      await client.connect();
      this.client = client;
    }
    return (await this.client.query(text, values)).rows as T[];
  }

  async drop(): Promise<void> {
    await this.client?.end().catch(() => undefined);
    await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`));
  }
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}
