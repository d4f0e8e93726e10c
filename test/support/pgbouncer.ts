import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../tools/lib/ports.js';
import { waitFor } from '../../tools/lib/wait.js';

export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

export interface PgBouncerOptions {
  /** The Postgres every database name is forwarded to (host and port only; the client's database is kept). */
  upstream?: string;
  /** Server connections per database and user: keep it below the clients' pools to prove they share. */
  poolSize?: number;
  maxClientConnections?: number;
}

/**
 * Debian's PgBouncer in transaction pooling mode on a free loopback port, its ini and userlist in a temporary
 * directory of its own (run as the postgres user when the tests run as root: PgBouncer refuses root). Every database name is
 * forwarded to `upstream` (`* =`), so a test database created after the start needs no reload.
 */
export class PrivatePgBouncer {
  port = 0;
  private readonly dir = mkdtempSync(join(tmpdir(), 'parley-pgbouncer-'));
  private proc?: ChildProcess;

  constructor(private readonly options: PgBouncerOptions = {}) {}

  /** Whether Debian's pgbouncer is installed (npm test installs it with apt-get where it can). */
  static available(): boolean {
    return existsSync(PGBOUNCER_BIN);
  }

  get poolSize(): number {
    return this.options.poolSize ?? 4;
  }

  /** `databaseUrl` (a direct Postgres URL) through this PgBouncer: same user and database. */
  urlFor(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.host = `127.0.0.1:${this.port}`;
    return url.toString();
  }

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/pgbouncer`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    const upstream = new URL(this.options.upstream ?? 'postgres://127.0.0.1:5432');
    writeFileSync(join(this.dir, 'userlist.txt'), '"postgres" ""\n');
    writeFileSync(
      join(this.dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${this.port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${this.dir}/userlist.txt`,
        'admin_users = postgres',
        'pool_mode = transaction',
        `default_pool_size = ${this.poolSize}`,
        'reserve_pool_size = 0',
        `max_client_conn = ${this.options.maxClientConnections ?? 400}`,
        `logfile = ${this.dir}/pgbouncer.log`,
        `pidfile = ${this.dir}/pgbouncer.pid`,
        '',
      ].join('\n'),
    );
    chownSync(this.dir, uid('postgres'), uid('postgres', '-g'));
    this.proc = spawn(PGBOUNCER_BIN, [join(this.dir, 'pgbouncer.ini')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(process.getuid?.() === 0 ? { uid: uid('postgres'), gid: uid('postgres', '-g') } : {}),
    });
    let stderr = '';
    this.proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor(`pgbouncer on :${this.port}`, async () => {
      if (this.proc?.exitCode !== null) throw new Error(`pgbouncer exited: ${stderr}${this.log()}`);
      return (await this.show('VERSION').catch(() => [])).length > 0;
    });
    return this;
  }

  /** A SHOW command of the admin console (POOLS, SERVERS, CLIENTS, ...): its rows. */
  async show<T = Record<string, unknown>>(what: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      // The admin console speaks only the simple query protocol: a query without parameters.
      return (await client.query(`SHOW ${what}`)).rows as T[];
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'pgbouncer.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGINT'); // PgBouncer's immediate shutdown
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function uid(user: string, flag = '-u'): number {
  return Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());
}
