import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../tools/lib/ports.js';
import { waitFor } from '../../tools/lib/wait.js';

interface ClusterNodeProcess {
  port: number;
  busPort: number;
  dir: string;
  proc?: ChildProcess;
}

/** One line of CLUSTER NODES: who a node is, what it is now, and the master it replicates. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  masterId?: string;
  failed: boolean;
  slots: string[];
}

/**
 * A Redis Cluster of the test's own: `masters` masters with `replicasPerMaster` replicas each, every one a real
 * `redis-server` in cluster mode on loopback ports (the bus on a port of its own), joined by
 * `redis-cli --cluster create`. No persistence, as on this machine. A small `cluster-node-timeout` so a killed
 * master's replica is promoted within seconds.
 */
export class PrivateRedisCluster {
  readonly nodes: ClusterNodeProcess[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'parley-redis-cluster-'));

  constructor(
    private readonly masters = 3,
    private readonly replicasPerMaster = 1,
    readonly nodeTimeoutMs = 2000,
  ) {}

  /** `redis+cluster://` naming every node (REDIS_URL for the apps). */
  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  async start(): Promise<this> {
    const count = this.masters * (1 + this.replicasPerMaster);
    // Two ports per node (clients, cluster bus), all different: freePort does not hold the ports it hands out.
    const ports = new Set<number>();
    while (ports.size < 2 * count) ports.add(await freePort());
    const [clientPorts, busPorts] = [[...ports].slice(0, count), [...ports].slice(count)];
    for (let i = 0; i < count; i++) {
      const dir = join(this.dir, String(i));
      mkdirSync(dir);
      this.nodes.push({ port: clientPorts[i]!, busPort: busPorts[i]!, dir });
    }
    for (const node of this.nodes) this.spawn(node);
    await Promise.all(this.nodes.map((n) => waitFor(`redis-server :${n.port}`, () => this.ping(n.port))));
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(this.replicasPerMaster),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await waitFor(
      'the cluster to be ok on every node, each replica attached',
      () =>
        this.nodes.every((n) => this.cli(n.port, 'CLUSTER', 'INFO').includes('cluster_state:ok')) &&
        this.topology().filter((n) => n.role === 'replica').length === this.masters * this.replicasPerMaster,
      60_000,
    );
    return this;
  }

  /** The cluster as one live node sees it. */
  topology(): ClusterNodeInfo[] {
    const live = this.nodes.find((n) => n.proc && n.proc.exitCode === null && n.proc.signalCode === null);
    if (!live) return [];
    return this.cli(live.port, 'CLUSTER', 'NODES')
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, master, , , , , ...slots] = line.split(' ');
        return {
          id: id!,
          port: Number(address!.split('@')[0]!.split(':')[1]),
          role: flags!.includes('master') ? ('master' as const) : ('replica' as const),
          ...(master && master !== '-' ? { masterId: master } : {}),
          failed: flags!.includes('fail'),
          slots,
        };
      });
  }

  /** Kills a node with SIGKILL, as a crash would (nothing is flushed, no failover is asked for). */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    const proc = node?.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  /** Waits until a replica of the master that was `masterId` is a master that owns slots. */
  async waitForPromotion(masterId: string, timeoutMs = 60_000): Promise<ClusterNodeInfo> {
    let promoted: ClusterNodeInfo | undefined;
    await waitFor(
      `a replica of ${masterId} promoted`,
      () => {
        const nodes = this.topology();
        promoted = nodes.find(
          (n) =>
            n.role === 'master' &&
            n.slots.length > 0 &&
            !n.failed &&
            n.id !== masterId &&
            this.wasReplicaOf.get(n.id) === masterId,
        );
        return (
          promoted !== undefined &&
          this.nodes.every(
            (n) => !this.isUp(n) || this.cli(n.port, 'CLUSTER', 'INFO').includes('cluster_state:ok'),
          )
        );
      },
      timeoutMs,
    );
    return promoted!;
  }

  /** Remembers which master each replica follows now (so a later promotion can be recognised). */
  rememberReplicas(): void {
    for (const n of this.topology()) if (n.masterId) this.wasReplicaOf.set(n.id, n.masterId);
  }

  private readonly wasReplicaOf = new Map<string, string>();

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        const proc = n.proc;
        if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** redis-cli against one node; its reply as text. */
  cli(port: number, ...args: string[]): string {
    const res = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
    return res.stdout ?? '';
  }

  private isUp(n: ClusterNodeProcess): boolean {
    return !!n.proc && n.proc.exitCode === null && n.proc.signalCode === null;
  }

  private ping(port: number): boolean {
    return this.cli(port, 'PING').trim() === 'PONG';
  }

  private spawn(node: ClusterNodeProcess): void {
    node.proc = spawn(
      'redis-server',
      [
        '--port',
        String(node.port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(node.busPort),
        '--cluster-config-file',
        join(node.dir, 'nodes.conf'),
        '--cluster-node-timeout',
        String(this.nodeTimeoutMs),
        '--dir',
        node.dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
  }
}
