import { AppProcess, runCommand } from '../../tools/lib/app-process.js';
import { TestDatabase } from './postgres.js';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from './redis.js';
import { PrivateRedisCluster } from './redis-cluster.js';

export const TEST_JWT_SECRET = 'parley-test-secret-0123456789abcdef';

/** The environment every process of a test deployment gets (a Cluster's, or an older build's in an upgrade test). */
export function deploymentEnv(
  databaseUrl: string,
  redisUrl: string,
  redisPrefix: string,
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: redisPrefix,
    JWT_SECRET: TEST_JWT_SECRET,
    RPC_CLAIM_IDLE_MS: '1000',
    // Every test client comes from 127.0.0.1: the per-address limits would make one test's clients throttle each
    // other. The tests of those limits set their own.
    RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: '1000000',
    SOCKET_MAX_PER_ADDRESS: '1000000',
  };
}

export interface ClusterOptions {
  gateways?: number;
  chats?: number;
  /** Another Redis than the shared one (a fault test's private server, or a `redis+cluster://` cluster's). */
  redisUrl?: string;
  /** Another Postgres than the shared one: the admin URL the test database is created from. */
  pgAdminUrl?: string;
  /**
   * A database that already exists and is kept (an upgrade test's, filled by an older build): the cluster migrates
   * it with this build's `migrate` instead of creating one, and `stop()` leaves it to its owner.
   */
  database?: TestDatabase;
  /** The DATABASE_URL the processes get, from the test database (default its own URL; e.g. a PgBouncer's). */
  databaseUrl?: (db: TestDatabase) => string;
  /**
   * false: no `migrate` command before the instances start; they migrate as they start (MIGRATE_ON_START),
   * together, as a rolling deployment's new instances do.
   */
  migrateFirst?: boolean;
  /** Environment for every instance (after the defaults). */
  env?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  chatsEnv?: Record<string, string>;
  /** Extra node flags for the app processes (e.g. `--cpu-prof` for the benchmark's profiler). */
  nodeArgs?: string[];
}

/**
 * A Parley deployment for one test file: its own database (created, migrated with the real `migrate` command,
 * dropped at the end), its own Redis prefix (keys deleted at the end), and any number of gateway and chats
 * processes started from the built bundles.
 */
export class Cluster {
  readonly db: TestDatabase;
  readonly redisPrefix = uniquePrefix('e2e');
  readonly redisUrl: string;
  readonly gateways: AppProcess[] = [];
  readonly chats: AppProcess[] = [];
  private counter = 0;

  /** The Redis Cluster this deployment started for itself (PARLEY_TEST_REDIS_CLUSTER=1), stopped with it. */
  redisCluster?: PrivateRedisCluster;

  private constructor(private readonly options: ClusterOptions) {
    this.db = options.database ?? new TestDatabase(options.pgAdminUrl);
    this.redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  }

  /**
   * Starts the deployment. With PARLEY_TEST_REDIS_CLUSTER=1 (`npm run test:redis-cluster`), one that names no Redis
   * of its own runs on a private 3-master, 3-replica Redis Cluster instead of the shared Redis.
   */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const redisCluster =
      !options.redisUrl && process.env.PARLEY_TEST_REDIS_CLUSTER === '1'
        ? await new PrivateRedisCluster().start()
        : undefined;
    const cluster = new Cluster(redisCluster ? { ...options, redisUrl: redisCluster.url } : options);
    cluster.redisCluster = redisCluster;
    try {
      if (!options.database) await cluster.db.create();
      if (options.migrateFirst !== false) {
        const migrated = await runCommand('chats', ['migrate'], cluster.baseEnv());
        if (migrated.code !== 0) throw new Error(`migrate failed:\n${migrated.output}`);
      }
      await Promise.all(Array.from({ length: options.chats ?? 1 }, () => cluster.startChats()));
      await Promise.all(Array.from({ length: options.gateways ?? 1 }, () => cluster.startGateway()));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  baseEnv(): Record<string, string> {
    const databaseUrl = this.options.databaseUrl?.(this.db) ?? this.db.url;
    return { ...deploymentEnv(databaseUrl, this.redisUrl, this.redisPrefix), ...this.options.env };
  }

  async startChats(env: Record<string, string> = {}): Promise<AppProcess> {
    const name = `chats-${++this.counter}`;
    const app = await AppProcess.start(
      'chats',
      name,
      { ...this.baseEnv(), ...this.options.chatsEnv, ...env },
      { nodeArgs: this.options.nodeArgs },
    );
    this.chats.push(app);
    return app;
  }

  async startGateway(env: Record<string, string> = {}): Promise<AppProcess> {
    const name = `gateway-${++this.counter}`;
    const app = await AppProcess.start(
      'gateway',
      name,
      { ...this.baseEnv(), ...this.options.gatewayEnv, ...env },
      { nodeArgs: this.options.nodeArgs },
    );
    this.gateways.push(app);
    return app;
  }

  gatewayUrl(index = 0): string {
    return this.gateways[index % this.gateways.length]!.url;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.gateways, ...this.chats].map((p) => p.stop('SIGKILL')));
    if (!this.options.database) {
      await this.db.drop().catch((err: unknown) => console.error('could not drop test database', err));
    }
    // A Redis Cluster of the test's own goes with its keys (PrivateRedisCluster.stop).
    if (!this.redisUrl.includes('+cluster://')) {
      await deleteKeys(this.redisPrefix, this.redisUrl).catch(() => undefined);
    }
    await this.redisCluster?.stop();
  }

  /** Everything the processes printed, for a failing test's message. */
  logs(): string {
    return [...this.chats, ...this.gateways].map((p) => `----- ${p.name}\n${p.logs()}`).join('\n');
  }
}
