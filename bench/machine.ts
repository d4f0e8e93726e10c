// What the bench ran on, for the report's first line.
import { cpus, release, totalmem } from 'node:os';
import { Cluster } from '../test/support/cluster.js';
import type { BenchResults } from './results.js';

export async function machineInfo(): Promise<BenchResults['machine']> {
  const cluster = await Cluster.start({ gateways: 0, chats: 0 });
  try {
    const [pg] = await cluster.db.sql<{ version: string }>('SELECT version()');
    const redis = (await import('ioredis')).Redis;
    const r = new redis(cluster.redisUrl);
    const info = await r.info('server');
    r.disconnect();
    return {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      postgres: pg!.version.split(' on ')[0]!,
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    };
  } finally {
    await cluster.stop();
  }
}
