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
    this.run('initdb', ['-D', `${this.dir}/data`, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8']);
    this.port = await freePort();
    await this.start();
    return this;
  }

  async start(): Promise<void> {
    this.run('pg_ctl', [
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
    this.run('pg_ctl', ['-D', `${this.dir}/data`, '-m', mode, '-w', 'stop']);
    await sleep(100);
  }

  async destroy(): Promise<void> {
    try {
      this.run('pg_ctl', ['-D', `${this.dir}/data`, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // not running
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private run(tool: string, args: string[]): void {
    const res = spawnSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/${tool}`, ...args], {
      encoding: 'utf8',
    });
    if (res.status !== 0) throw new Error(`${tool} failed: ${res.stderr || res.stdout}`);
  }
}

function uid(user: string): number {
  return Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
}

function gid(user: string): number {
  return Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
}
