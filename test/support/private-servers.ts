import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../tools/lib/ports.js';
import { sleep, waitFor } from '../../tools/lib/wait.js';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * A Redis server of the test's own (real redis-server on a free port, no persistence, like the machine's), so a
 * fault test can stop and start it without disturbing the Redis every other test shares.
 */
export class PrivateRedis {
  port = 0;
  private proc?: ChildProcess;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port ||= await freePort();
    this.proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await waitFor('the private Redis', async () => {
      const r = new Redis(this.url, {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        r.disconnect();
      }
    });
    return this;
  }

  /** Stops the server (SIGTERM, as a service manager would); its data is gone, as on this machine. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
}

const PG_BIN = (() => {
  const versions = readdirSync('/usr/lib/postgresql').sort();
  return `/usr/lib/postgresql/${versions[versions.length - 1]}/bin`;
})();

/**
 * A PostgreSQL cluster of the test's own (initdb into a temporary directory, run as the postgres user, on a free
 * port), so a fault test can crash and restart it. fsync and synchronous_commit stay on: what was committed must
 * survive a crash.
 */
export class PrivatePostgres {
  port = 0;
  private readonly dir = mkdtempSync(join(tmpdir(), 'parley-pg-'));

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async init(): Promise<this> {
    chownSync(this.dir, uid('postgres'), gid('postgres'));
    asPostgres('initdb', ['-D', `${this.dir}/data`, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8']);
    this.port = await freePort();
    await this.start();
    return this;
  }

  async start(): Promise<void> {
    asPostgres('pg_ctl', [
      '-D',
      `${this.dir}/data`,
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`,
      '-l',
      `${this.dir}/log`,
      '-w',
      'start',
    ]);
    await waitFor('the private Postgres', async () => {
      const c = new pg.Client({ connectionString: this.adminUrl });
      try {
        await c.connect();
        return true;
      } catch {
        return false;
      } finally {
        await c.end().catch(() => undefined);
      }
    });
  }

  /** `immediate` is a crash (no checkpoint; recovery from WAL at the next start); `fast` a clean stop. */
  async stop(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    asPostgres('pg_ctl', ['-D', `${this.dir}/data`, '-m', mode, '-w', 'stop']);
    await sleep(100);
  }

  async destroy(): Promise<void> {
    try {
      asPostgres('pg_ctl', ['-D', `${this.dir}/data`, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // not running
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function uid(user: string): number {
  return Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
}

function gid(user: string): number {
  return Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
}

/**
 * A streaming replica of a PrivatePostgres: `pg_basebackup -R` (a standby with its primary_conninfo) into a
 * directory of its own, started on another port. Replay can be paused to simulate replication lag.
 */
export class PrivateReplica {
  port = 0;
  private readonly dir = mkdtempSync(join(tmpdir(), 'parley-replica-'));

  constructor(private readonly primary: PrivatePostgres) {}

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<this> {
    chownSync(this.dir, uid('postgres'), gid('postgres'));
    const primaryPort = String(this.primary.port);
    asPostgres(
      'pg_basebackup',
      ['-h', '127.0.0.1', '-p', primaryPort, '-U', 'postgres', '-D', `${this.dir}/data`].concat([
        '-R',
        '-X',
        'stream',
        '-c',
        'fast',
      ]),
    );
    this.port = await freePort();
    asPostgres('pg_ctl', [
      '-D',
      `${this.dir}/data`,
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c hot_standby=on`,
      '-l',
      `${this.dir}/log`,
      '-w',
      'start',
    ]);
    await waitFor(
      'the replica',
      async () => (await this.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]?.r,
    );
    return this;
  }

  /** One statement on the replica's `postgres` database (or `database`). */
  async query<T = Record<string, unknown>>(
    text: string,
    values: unknown[] = [],
    database = 'postgres',
  ): Promise<T[]> {
    const c = new pg.Client({ connectionString: this.url(database) });
    await c.connect();
    try {
      return (await c.query(text, values)).rows as T[];
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /** Stops applying WAL (it is still received): reads see the data as of now until `resume`. */
  async pause(): Promise<void> {
    await this.query('SELECT pg_wal_replay_pause()');
    await waitFor('replay paused', async () => {
      const [row] = await this.query<{ s: string }>('SELECT pg_get_wal_replay_pause_state() AS s');
      return row?.s === 'paused';
    });
  }

  async resume(): Promise<void> {
    await this.query('SELECT pg_wal_replay_resume()');
  }

  /** Waits until the replica has replayed everything the primary had written when called. */
  async caughtUp(): Promise<void> {
    const c = new pg.Client({ connectionString: this.primary.adminUrl });
    await c.connect();
    const { rows } = await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    await c.end();
    await waitFor('the replica to catch up', async () => {
      const [row] = await this.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [
        rows[0]!.lsn,
      ]);
      return row?.ok;
    });
  }

  async destroy(): Promise<void> {
    try {
      asPostgres('pg_ctl', ['-D', `${this.dir}/data`, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // not running
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Postgres tool of the installed version, run as the postgres user (which owns the data directories). */
function asPostgres(tool: string, args: string[]): void {
  const res = spawnSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/${tool}`, ...args], {
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`${tool} failed: ${res.stderr || res.stdout}`);
}
