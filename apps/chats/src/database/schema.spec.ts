import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { TestDatabase } from '@parley/testing';
import { dataSourceOptions, migrate } from './data-source.js';

// Entities and migrations must describe the same schema: after running every migration on an empty database,
// TypeORM must find nothing to change. A new column in an entity without its migration (or the reverse) fails here.
const MIGRATIONS = [
  'InitialSchema1763712000000',
  'SendMessagesFunction1763740000000',
  'Sessions1764600000000',
];

describe('schema', () => {
  const db = new TestDatabase();
  let dataSource: DataSource;

  beforeAll(async () => {
    await db.create();
    dataSource = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db.drop();
  });

  it('migrations produce exactly what the entities describe', async () => {
    expect(await migrate(dataSource)).toEqual(MIGRATIONS);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('running migrations again is a no-op, and they can be reverted', async () => {
    expect(await migrate(dataSource)).toEqual([]);
    for (let i = 0; i < MIGRATIONS.length; i++) await dataSource.undoLastMigration();
    const tables = await db.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'`,
    );
    expect(tables[0]!.n).toBe(0);
    expect(await migrate(dataSource)).toEqual(MIGRATIONS);
  });
});
