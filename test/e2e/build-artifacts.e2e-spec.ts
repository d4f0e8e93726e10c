import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCommand, TestDatabase } from '@parley/testing';

describe('build artifacts', () => {
  it('docs/openapi.json is what the gateway generates (run "npm run openapi" after changing the REST API)', async () => {
    const generated = await runCommand('gateway', ['openapi'], {});
    expect(generated.code).toBe(0);
    const committed = await readFile(`${REPO_ROOT}docs/openapi.json`, 'utf8');
    expect(JSON.parse(generated.output)).toEqual(JSON.parse(committed));
  });

  it('refuses to boot on a bad environment, naming each bad variable and what it expected', async () => {
    const gateway = await runCommand('gateway', [], {
      PORT: 'eighty',
      JWT_SECRET: 'short',
      AUTH_MODE: 'none',
    });
    expect(gateway.code).toBe(1);
    expect(gateway.output).toContain('PORT="eighty" is invalid: expected an integer between 1 and 65535');
    expect(gateway.output).toContain(
      'JWT_SECRET="<redacted>" is invalid: expected a string of at least 16 characters',
    );
    expect(gateway.output).toContain('AUTH_MODE="none" is invalid: expected one of jwt, insecure-user-id');

    const chats = await runCommand('chats', [], { DATABASE_URL: 'mysql://x', RPC_CONCURRENCY: '0' });
    expect(chats.code).toBe(1);
    expect(chats.output).toContain(
      'DATABASE_URL="mysql://x" is invalid: expected a URL with protocol postgres: or postgresql:',
    );
    expect(chats.output).toContain('RPC_CONCURRENCY="0" is invalid: expected an integer between 1 and 10000');
  });
});

describe('migrate --check', () => {
  it('exits 1 while migrations are pending (or the database is missing) and 0 once they are applied', async () => {
    const db = new TestDatabase();
    const env = { DATABASE_URL: db.url };
    try {
      expect((await runCommand('chats', ['migrate', '--check'], env)).code).toBe(1); // no database yet
      await db.create();
      expect((await runCommand('chats', ['migrate', '--check'], env)).code).toBe(1);
      expect((await runCommand('chats', ['migrate'], env)).code).toBe(0);
      const checked = await runCommand('chats', ['migrate', '--check'], env);
      expect(checked.code).toBe(0);
      expect(checked.output).toContain('Schema is up to date');
    } finally {
      await db.drop();
    }
  });
});

describe('documentation', () => {
  it('README documents every environment variable the apps read (regenerate with "npm run config-table")', async () => {
    const { configTable } = await import('../../tools/config-table.js');
    const readme = await readFile(`${REPO_ROOT}README.md`, 'utf8');
    const between = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme)?.[1];
    expect(between).toBe(configTable());
  });
});
